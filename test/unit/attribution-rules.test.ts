import { decide, finalStatus, type ConversionRequest, type CountedConversion, type EventRule } from '../../src/domain/attribution-rules';

const rules: EventRule[] = [
  { name: 'lead', payout: { kind: 'fixed', value: 300 }, revenue: { kind: 'fixed', value: 500 }, currency: 'USD', repeatable: false },
  { name: 'sale', payout: { kind: 'percent', value: 750 }, revenue: { kind: 'percent', value: 1250 }, currency: 'USD', repeatable: true },
];
const req = (over: Partial<ConversionRequest>): ConversionRequest => ({
  requestId: 'r', source: 'postback', event: 'lead', txid: null, amountMinor: null, amountCurrency: null, status: 'approved', receivedAtMs: 1000, ...over,
});
const counted = (over: Partial<CountedConversion>): CountedConversion => ({
  conversionId: 'c1', event: 'lead', txid: null, status: 'approved', payoutMinor: 300, currency: 'USD', notifications: 1, ...over,
});

describe('decide', () => {
  test('records a fixed payout and a percentage of the amount, rounded half up', () => {
    expect(decide([], req({}), rules, 2000)).toMatchObject({ kind: 'record', payoutMinor: 300, revenueMinor: 500 });
    expect(decide([], req({ event: 'sale', amountMinor: 1999, amountCurrency: 'USD' }), rules, 2000)).toMatchObject({
      kind: 'record', payoutMinor: 150, revenueMinor: 250, // 7.5% of 19.99 = 1.49925 → 1.50; 12.5% = 2.49875 → 2.50
    });
    expect(decide([], req({ event: 'sale' }), rules, 2000)).toMatchObject({ kind: 'record', payoutMinor: 0 });
  });

  test('a reported revenue replaces the revenue rule; the publisher payout still comes from the rule', () => {
    expect(decide([], req({ event: 'sale', amountMinor: 10000, amountCurrency: 'USD', revenueMinor: 900 }), rules, 2000)).toMatchObject({
      kind: 'record', payoutMinor: 750, revenueMinor: 900,
    });
    expect(decide([], req({ revenueMinor: 0 }), rules, 2000)).toMatchObject({ kind: 'record', payoutMinor: 300, revenueMinor: 0 });
  });

  test('a conversion counted already is a duplicate', () => {
    expect(decide([counted({})], req({}), rules, 2000)).toMatchObject({ kind: 'ignore', duplicate: true });
    expect(decide([counted({ txid: 'T1' })], req({ txid: 'T1', event: 'sale' }), rules, 2000)).toMatchObject({ kind: 'ignore', duplicate: true });
    expect(decide([], req({ event: 'nope' }), rules, 2000)).not.toHaveProperty('duplicate');
  });

  test('ignores after the window, unknown events and a missing campaign', () => {
    expect(decide([], req({ receivedAtMs: 2001 }), rules, 2000)).toEqual({ kind: 'ignore', reason: 'attribution window closed' });
    expect(decide([], req({ event: 'nope' }), rules, 2000)).toMatchObject({ kind: 'ignore', reason: expect.stringMatching(/unknown event/) });
    expect(decide([], req({}), null, 2000)).toMatchObject({ kind: 'ignore' });
  });

  test('a non-repeatable event counts once; without a txid a new status is an update', () => {
    const c = [counted({ status: 'pending' })];
    expect(decide(c, req({ status: 'pending' }), rules, 2000)).toMatchObject({ kind: 'ignore', reason: expect.stringMatching(/already counted/) });
    expect(decide(c, req({ status: 'approved' }), rules, 2000)).toEqual({ kind: 'update', conversionId: 'c1', status: 'approved' });
    expect(decide(c, req({ txid: 'other' }), rules, 2000)).toMatchObject({ kind: 'ignore' });
  });

  test('a repeated txid is never counted twice, whatever the event; its new status is an update', () => {
    const c = [counted({ event: 'sale', txid: 'T1', conversionId: 'c9' })];
    expect(decide(c, req({ event: 'sale', txid: 'T1' }), rules, 2000)).toMatchObject({ kind: 'ignore' });
    expect(decide(c, req({ event: 'lead', txid: 'T1' }), rules, 2000)).toMatchObject({ kind: 'ignore' });
    expect(decide(c, req({ event: 'sale', txid: 'T1', status: 'rejected' }), rules, 2000)).toEqual({ kind: 'update', conversionId: 'c9', status: 'rejected' });
    expect(decide(c, req({ event: 'sale', txid: 'T2' }), rules, 2000)).toMatchObject({ kind: 'record' });
  });

  test('a payout that would overflow (rules from before the caps) is refused, never thrown', () => {
    const legacy: EventRule[] = [{ name: 'sale', payout: { kind: 'percent', value: 1_000_000_000_000 }, revenue: { kind: 'fixed', value: 0 }, currency: 'USD', repeatable: true }];
    expect(decide([], req({ event: 'sale', amountMinor: 1_000_000_000_000, amountCurrency: 'USD' }), legacy, 2000)).toEqual({ kind: 'ignore', reason: 'amount too large for the rules of event "sale"' });
  });

  test('a percentage of an amount in another currency is refused', () => {
    expect(decide([], req({ event: 'sale', amountMinor: 100, amountCurrency: 'EUR' }), rules, 2000)).toMatchObject({ kind: 'ignore', reason: expect.stringMatching(/EUR/) });
  });
});

test('finalStatus: converted unless every conversion was rejected', () => {
  expect(finalStatus([])).toBe('expired');
  expect(finalStatus([counted({ status: 'rejected' })])).toBe('expired');
  expect(finalStatus([counted({ status: 'rejected' }), counted({ status: 'pending' })])).toBe('converted');
});

describe('who may change a status (audit H1)', () => {
  const c = [counted({ event: 'sale', txid: 'T1', conversionId: 'c9', status: 'rejected' }), counted({ conversionId: 'c1', status: 'rejected' })];

  test('a pixel matching a counted conversion is ignored, never an update: same txid or same non-repeatable event', () => {
    expect(decide(c, req({ source: 'pixel', event: 'sale', txid: 'T1', status: 'approved' }), rules, 2000)).toEqual({
      kind: 'ignore', reason: 'transaction T1 already counted; a pixel cannot change its status',
    });
    expect(decide(c, req({ source: 'pixel', status: 'approved' }), rules, 2000)).toEqual({ kind: 'ignore', reason: 'event "lead" already counted for this session', duplicate: true });
    // The same requests from the token-authenticated postback are status updates.
    expect(decide(c, req({ event: 'sale', txid: 'T1', status: 'approved' }), rules, 2000)).toEqual({ kind: 'update', conversionId: 'c9', status: 'approved' });
    expect(decide(c, req({ status: 'approved' }), rules, 2000)).toEqual({ kind: 'update', conversionId: 'c1', status: 'approved' });
    // A pixel still records what is new.
    expect(decide(c, req({ source: 'pixel', event: 'sale', txid: 'T2' }), rules, 2000)).toMatchObject({ kind: 'record' });
  });

  test('histories recorded before the rule replay with the old one', () => {
    expect(decide(c, req({ source: 'pixel', event: 'sale', txid: 'T1', status: 'approved' }), rules, 2000, { pixelMayUpdate: true })).toEqual({ kind: 'update', conversionId: 'c9', status: 'approved' });
  });

  test('an API decision updates the conversion it names, even after the window, and nothing else', () => {
    const decision = { conversionId: 'c9', reason: 'checked the order', by: 'advertiser:a' };
    expect(decide(c, req({ source: 'api', event: 'sale', txid: 'T1', status: 'approved', receivedAtMs: 5000, decision }), rules, 2000)).toEqual({ kind: 'update', conversionId: 'c9', status: 'approved' });
    expect(decide(c, req({ source: 'api', status: 'rejected', decision }), rules, 2000)).toMatchObject({ kind: 'ignore', reason: 'conversion c9 is already rejected' });
    expect(decide(c, req({ source: 'api', decision: { ...decision, conversionId: 'elsewhere' } }), rules, 2000)).toMatchObject({ kind: 'ignore', reason: expect.stringMatching(/not counted on this session/) });
    expect(decide(c, req({ source: 'api', decision }), null, 2000)).toMatchObject({ kind: 'update' });
  });
});
