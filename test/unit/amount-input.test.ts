import fc from 'fast-check';
import { formatPercent, parsePercent, parseRule, ruleText } from '../../web/src/amount-input';

// The dashboard's campaign editor: payouts typed as decimals, sent as integer minor units or basis
// points, converted on the digits (no float on the way).

describe('amount input', () => {
  test('fixed amounts are minor units of the event currency', () => {
    expect(parseRule('fixed', '1.50', 'EUR')).toEqual({ ok: true, value: 150 });
    expect(parseRule('fixed', '0.07', 'USD')).toEqual({ ok: true, value: 7 });
    expect(parseRule('fixed', '1500', 'JPY')).toEqual({ ok: true, value: 1500 });
    expect(parseRule('fixed', '1.234', 'BHD')).toEqual({ ok: true, value: 1234 });
    // 0.29 * 100 is 28.999999999999996 in floating point: the digits are converted, not the number.
    expect(parseRule('fixed', '0.29', 'EUR')).toEqual({ ok: true, value: 29 });
  });

  test('bad amounts say why', () => {
    expect(parseRule('fixed', '1.505', 'EUR')).toEqual({ ok: false, reason: expect.stringMatching(/more than 2 decimal places for EUR/) });
    expect(parseRule('fixed', '-1', 'EUR')).toEqual({ ok: false, reason: expect.stringMatching(/non-negative decimal/) });
    expect(parseRule('fixed', '1,50', 'EUR')).toMatchObject({ ok: false });
    expect(parseRule('fixed', '1.50', 'EURO')).toEqual({ ok: false, reason: expect.stringMatching(/currency first/) });
    expect(parsePercent('12.345')).toEqual({ ok: false, reason: expect.stringMatching(/at most two decimals/) });
    expect(parsePercent('1000.01')).toEqual({ ok: false, reason: expect.stringMatching(/at most 1000 %/) });
    expect(parsePercent('1e2')).toMatchObject({ ok: false });
  });

  test('percentages are basis points', () => {
    expect(parsePercent('12.5')).toEqual({ ok: true, value: 1250 });
    expect(parsePercent('0.01')).toEqual({ ok: true, value: 1 });
    expect(parsePercent('10.50')).toEqual({ ok: true, value: 1050 });
    expect(parsePercent('1000')).toEqual({ ok: true, value: 100_000 });
    expect(formatPercent(1250)).toBe('12.5');
    expect(formatPercent(1000)).toBe('10');
    expect(formatPercent(0)).toBe('0');
    expect(formatPercent(1)).toBe('0.01');
  });

  test('what is shown for a stored rule parses back to it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), (bp) => {
        expect(parseRule('percent', ruleText({ kind: 'percent', value: bp }, 'EUR'), 'EUR')).toEqual({ ok: true, value: bp });
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000_000_000 }), fc.constantFrom('EUR', 'JPY', 'BHD'), (minor, currency) => {
        expect(parseRule('fixed', ruleText({ kind: 'fixed', value: minor }, currency), currency)).toEqual({ ok: true, value: minor });
      }),
    );
  });
});
