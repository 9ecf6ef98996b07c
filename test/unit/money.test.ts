import fc from 'fast-check';
import { MAX_AMOUNT_MINOR, formatMinor, isCurrency, minorDigits, parseAmount, percentOf } from '../../src/domain/money';

describe('isCurrency', () => {
  it.each(['USD', 'EUR', 'JPY', 'KWD', 'GBP'])('accepts %s', (c) => expect(isCurrency(c)).toBe(true));
  it.each(['usd', 'Usd', 'US', 'USDD', '', ' USD', 'XYZ', '123', '__proto__', 'constructor'])('rejects %j', (c) =>
    expect(isCurrency(c)).toBe(false),
  );
});

describe('minorDigits', () => {
  it('knows the precision of currencies', () => {
    expect(minorDigits('JPY')).toBe(0);
    expect(minorDigits('USD')).toBe(2);
    expect(minorDigits('EUR')).toBe(2);
    expect(minorDigits('KWD')).toBe(3);
    expect(minorDigits('BHD')).toBe(3);
    // cached answer is the same
    expect(minorDigits('KWD')).toBe(3);
  });
  it('throws for unknown codes', () => {
    expect(() => minorDigits('XYZ')).toThrow(RangeError);
    expect(() => minorDigits('usd')).toThrow(RangeError);
  });
});

describe('parseAmount', () => {
  const ok = (raw: string, currency: string) => {
    const r = parseAmount(raw, currency);
    if (!r.ok) throw new Error(`expected ok for ${raw} ${currency}: ${r.reason}`);
    return r.minor;
  };
  const reason = (raw: string, currency: string) => {
    const r = parseAmount(raw, currency);
    if (r.ok) throw new Error(`expected failure for ${raw} ${currency}, got ${r.minor}`);
    return r.reason;
  };

  it('converts to minor units', () => {
    expect(ok('10.50', 'USD')).toBe(1050);
    expect(ok('10.5', 'USD')).toBe(1050);
    expect(ok('10', 'USD')).toBe(1000);
    expect(ok('0', 'USD')).toBe(0);
    expect(ok('0.01', 'USD')).toBe(1);
    expect(ok('007.10', 'USD')).toBe(710);
    expect(ok('  12.34  ', 'USD')).toBe(1234);
    expect(ok('500', 'JPY')).toBe(500);
    expect(ok('1.234', 'KWD')).toBe(1234);
    expect(ok('1.2', 'KWD')).toBe(1200);
  });

  it('is exact where float multiplication is not', () => {
    // 1.005 * 100 = 100.49999999999999 and 0.29 * 100 = 28.999999999999996 in floating point
    expect(ok('0.29', 'USD')).toBe(29);
    expect(ok('1.13', 'USD')).toBe(113);
    expect(ok('4.35', 'USD')).toBe(435);
    expect(ok('1.005', 'KWD')).toBe(1005);
  });

  it('accepts extra fractional digits only when they are zeros', () => {
    expect(ok('10.5000', 'USD')).toBe(1050);
    expect(ok('5.000', 'JPY')).toBe(5);
  });

  it('rejects precision the currency does not have', () => {
    expect(reason('10.501', 'USD')).toBe('has more than 2 decimal places for USD');
    expect(reason('5.5', 'JPY')).toBe('has more than 0 decimal places for JPY');
    expect(reason('1.2345', 'KWD')).toBe('has more than 3 decimal places for KWD');
  });

  it.each(['1e5', '-1', '+1', '.5', '10.', '1,000', '1 000', '', '  ', 'abc', '0x10', 'NaN', 'Infinity', '１２', '1.2.3', '٣'])(
    'rejects malformed %j',
    (raw) => expect(parseAmount(raw, 'USD').ok).toBe(false),
  );

  it('refuses any amount past the global cap of 10^12 minor units, exactly at the boundary', () => {
    expect(ok('1000000000000', 'JPY')).toBe(MAX_AMOUNT_MINOR);
    expect(ok('10000000000.00', 'USD')).toBe(MAX_AMOUNT_MINOR);
    expect(ok('1000000000.000', 'KWD')).toBe(MAX_AMOUNT_MINOR);
    expect(reason('1000000000001', 'JPY')).toBe('is too large: at most 1000000000000 JPY');
    expect(reason('10000000000.01', 'USD')).toBe('is too large: at most 10000000000.00 USD');
    expect(reason('9999999999999.99', 'USD')).toMatch(/too large/); // the audit's forged pixel amount
    expect(reason('9007199254740.992', 'KWD')).toMatch(/too large/);
    expect(parseAmount('99999999999999', 'USD').ok).toBe(false); // 14 integer digits
    expect(parseAmount(`1.${'0'.repeat(10_000)}`, 'USD')).toEqual({ ok: true, minor: 100 });
  });

  it('rejects unknown currencies instead of throwing', () => {
    expect(parseAmount('1', 'XYZ').ok).toBe(false);
    expect(parseAmount('1', 'usd').ok).toBe(false);
  });

  it('round-trips with formatMinor (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom('USD', 'JPY', 'KWD', 'EUR'), fc.integer({ min: 0, max: MAX_AMOUNT_MINOR }), (cur, minor) => {
        expect(parseAmount(formatMinor(minor, cur), cur)).toEqual({ ok: true, minor });
      }),
    );
  });
});

describe('formatMinor', () => {
  it('formats plain decimals', () => {
    expect(formatMinor(1050, 'USD')).toBe('10.50');
    expect(formatMinor(5, 'USD')).toBe('0.05');
    expect(formatMinor(0, 'USD')).toBe('0.00');
    expect(formatMinor(5, 'JPY')).toBe('5');
    expect(formatMinor(1234, 'KWD')).toBe('1.234');
    expect(formatMinor(1, 'KWD')).toBe('0.001');
    expect(formatMinor(Number.MAX_SAFE_INTEGER, 'USD')).toBe('90071992547409.91');
  });
  it('formats negatives with a leading minus', () => {
    expect(formatMinor(-1050, 'USD')).toBe('-10.50');
    expect(formatMinor(-5, 'USD')).toBe('-0.05');
    expect(formatMinor(-5, 'JPY')).toBe('-5');
    expect(formatMinor(-0, 'USD')).toBe('0.00');
  });
  it('refuses non-integers and unknown currencies', () => {
    expect(() => formatMinor(1.5, 'USD')).toThrow(RangeError);
    expect(() => formatMinor(Number.NaN, 'USD')).toThrow(RangeError);
    expect(() => formatMinor(Number.POSITIVE_INFINITY, 'USD')).toThrow(RangeError);
    expect(() => formatMinor(1, 'XYZ')).toThrow(RangeError);
  });
  it('formats any integer sum, past 2^53 and as a BigInt, exactly (property)', () => {
    expect(formatMinor(2 ** 60, 'USD')).toBe('11529215046068469.76');
    expect(formatMinor(10n ** 30n + 1n, 'KWD')).toBe('1000000000000000000000000000.001');
    fc.assert(
      fc.property(fc.constantFrom('USD', 'JPY', 'KWD', 'EUR'), fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), (cur, minor) => {
        const s = formatMinor(minor, cur);
        expect(s).toMatch(/^-?\d+(\.\d+)?$/);
        expect(BigInt(s.replace('.', ''))).toBe(minor);
      }),
    );
  });
});

describe('percentOf', () => {
  it('rounds half away from zero', () => {
    expect(percentOf(999, 1000)).toBe(100);
    expect(percentOf(1000, 1000)).toBe(100);
    expect(percentOf(5, 1000)).toBe(1); // 0.5 → 1
    expect(percentOf(4, 1000)).toBe(0); // 0.4 → 0
    expect(percentOf(15, 5000)).toBe(8); // 7.5 → 8
    expect(percentOf(-15, 5000)).toBe(-8); // -7.5 → -8
    expect(percentOf(-4, 1000)).toBe(0);
    expect(Object.is(percentOf(-4, 1000), -0)).toBe(false);
    expect(percentOf(12345, 10000)).toBe(12345);
    expect(percentOf(12345, 0)).toBe(0);
    expect(percentOf(100, 25000)).toBe(250);
  });
  it('is exact for large amounts', () => {
    expect(percentOf(Number.MAX_SAFE_INTEGER, 10000)).toBe(Number.MAX_SAFE_INTEGER);
    expect(percentOf(Number.MAX_SAFE_INTEGER, 5000)).toBe(4503599627370496); // ...495.5 → ...496
    expect(() => percentOf(Number.MAX_SAFE_INTEGER, 20000)).toThrow(RangeError);
  });
  it('refuses non-integers', () => {
    expect(() => percentOf(1.5, 100)).toThrow(RangeError);
    expect(() => percentOf(100, 0.5)).toThrow(RangeError);
  });
  it('agrees with exact rational rounding (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 0, max: 100000 }), (minor, bp) => {
        const r = percentOf(minor, bp);
        // |minor*bp/10000 - r| <= 1/2, and exactly 1/2 only when rounding away from zero
        const diff = minor * bp - r * 10000; // exact in doubles for these ranges
        expect(Math.abs(diff)).toBeLessThanOrEqual(5000);
        if (Math.abs(diff) === 5000) expect(Math.sign(r)).toBe(Math.sign(minor * bp));
      }),
    );
  });
});
