import fc from 'fast-check';
import { parseConversionParams, SESSION_ID_RE, type ConversionParams } from '../../src/domain/conversion-params';

const CLICK = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';

const ok = (input: Record<string, unknown>): ConversionParams => {
  const r = parseConversionParams(input);
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.errors)}`);
  return r.value;
};
const errors = (input: Record<string, unknown>) => {
  const r = parseConversionParams(input);
  if (r.ok) throw new Error(`expected errors, got ${JSON.stringify(r.value)}`);
  return r.errors;
};

describe('SESSION_ID_RE', () => {
  it('matches UUIDs only', () => {
    expect(SESSION_ID_RE.test(CLICK)).toBe(true);
    expect(SESSION_ID_RE.test(CLICK.toUpperCase())).toBe(true);
    expect(SESSION_ID_RE.test(`${CLICK}x`)).toBe(false);
    expect(SESSION_ID_RE.test('102abc')).toBe(false);
    expect(SESSION_ID_RE.test('')).toBe(false);
  });
});

describe('parseConversionParams', () => {
  it('parses canonical names', () => {
    expect(
      ok({ click_id: CLICK, event: 'sale', txid: 'ORD-1', amount: '12.50', currency: 'eur', status: 'Approved', token: 's3cret', campaign: 'camp_1', adv: 'adv-1' }),
    ).toEqual({
      clickId: CLICK,
      event: 'sale',
      txid: 'ORD-1',
      amount: '12.50',
      currency: 'EUR',
      status: 'approved',
      token: 's3cret',
      campaignId: 'camp_1',
      advertiserId: 'adv-1',
    });
  });

  it('accepts an empty input', () => {
    expect(ok({})).toEqual({});
  });

  it('lower-cases the click id', () => {
    expect(ok({ click_id: CLICK.toUpperCase() }).clickId).toBe(CLICK);
  });

  it.each([
    ['click_id', 'clickId', CLICK],
    ['clickid', 'clickId', CLICK],
    ['cid', 'clickId', CLICK],
    ['subid', 'clickId', CLICK],
    ['session_id', 'clickId', CLICK],
    ['goal', 'event', 'lead'],
    ['et', 'event', 'lead'],
    ['event_id', 'event', '7'],
    ['goal_id', 'event', '7'],
    ['transaction_id', 'txid', 'T-9'],
    ['order_id', 'txid', 'T-9'],
    ['tid', 'txid', 'T-9'],
    ['action_id', 'txid', 'T-9'],
    ['sum', 'amount', '3.5'],
    ['sale_amount', 'amount', '3.5'],
    ['revenue', 'revenue', '3.5'],
    ['payout', 'revenue', '3.5'],
    ['security_token', 'token', 'tok'],
    ['verification_token', 'token', 'tok'],
    ['secure', 'token', 'tok'],
    ['campaign_id', 'campaignId', 'c1'],
    ['advertiser', 'advertiserId', 'a1'],
    ['advertiser_id', 'advertiserId', 'a1'],
  ] as const)('alias %s → %s', (alias, key, value) => {
    expect(ok({ [alias]: value })[key]).toBe(value);
  });

  describe('platforms from TRACKING.md', () => {
    it.each([
      ['Everflow: transaction_id carries the click id', { transaction_id: CLICK, amount: '20.00', event_id: '3', order_id: 'EF-1', verification_token: 'v' }, { clickId: CLICK, amount: '20.00', event: '3', txid: 'EF-1', token: 'v' }],
      ['TUNE: transaction_id carries the click id', { transaction_id: CLICK, amount: '5', goal_id: '12', security_token: 't', status: 'pending' }, { clickId: CLICK, amount: '5', event: '12', token: 't', status: 'pending' }],
      ['Affise', { clickid: CLICK, action_id: 'AF-77', goal: '1', sum: '0.75', status: 'declined', secure: 'x' }, { clickId: CLICK, txid: 'AF-77', event: '1', amount: '0.75', status: 'rejected', token: 'x' }],
      ['Voluum', { cid: CLICK, payout: '1.20', txid: 'V1', currency: 'usd', et: 'deposit' }, { clickId: CLICK, revenue: '1.20', txid: 'V1', currency: 'USD', event: 'deposit' }],
      ['Keitaro', { subid: CLICK, status: 'hold', payout: '2', tid: 'K-5', currency: 'RUB' }, { clickId: CLICK, status: 'pending', revenue: '2', txid: 'K-5', currency: 'RUB' }],
      ['Prosper202', { subid: CLICK, amount: '9.99', txid: 'P-1' }, { clickId: CLICK, amount: '9.99', txid: 'P-1' }],
    ])('%s', (_platform, query, parsed) => {
      expect(ok(query)).toEqual(parsed);
    });
  });

  describe('transaction_id special case', () => {
    it('is a txid when a click id alias is present', () => {
      expect(ok({ click_id: CLICK, transaction_id: 'ORDER-1' })).toEqual({ clickId: CLICK, txid: 'ORDER-1' });
      const other = '11111111-2222-4333-8444-555555555555';
      expect(ok({ cid: CLICK, transaction_id: other })).toEqual({ clickId: CLICK, txid: other });
    });
    it('is a txid when it is not a session id', () => {
      expect(ok({ transaction_id: '102abc' })).toEqual({ txid: '102abc' });
    });
    it('does not conflict with other txid aliases when it is the click id', () => {
      expect(ok({ transaction_id: CLICK, txid: 'A', order_id: 'A' })).toEqual({ clickId: CLICK, txid: 'A' });
    });
    it('an empty click id alias counts as absent', () => {
      expect(ok({ click_id: '', transaction_id: CLICK })).toEqual({ clickId: CLICK });
    });
  });

  it('takes the first alias present and allows equal duplicates', () => {
    expect(ok({ cid: CLICK, click_id: CLICK, subid: CLICK })).toEqual({ clickId: CLICK });
    expect(ok({ amount: '1.00', sum: '1.00' })).toEqual({ amount: '1.00' });
  });

  it('keeps the sale amount and what the conversion pays apart', () => {
    expect(ok({ amount: '100.00', payout: '7.50' })).toEqual({ amount: '100.00', revenue: '7.50' });
    expect(ok({ sale_amount: '100.00', revenue: '7.50' })).toEqual({ amount: '100.00', revenue: '7.50' });
    expect(errors({ revenue: '-1' })[0]?.field).toBe('revenue');
  });

  it('reports conflicting aliases naming both', () => {
    const errs = errors({ amount: '1.00', sum: '2.00' });
    expect(errs).toHaveLength(1);
    expect(errs[0]?.field).toBe('amount');
    expect(errs[0]?.message).toContain('amount');
    expect(errs[0]?.message).toContain('sum');
    const e2 = errors({ event: 'sale', goal: 'lead', click_id: CLICK, cid: '11111111-2222-4333-8444-555555555555' });
    expect(e2.map((e) => e.field).sort()).toEqual(['click_id', 'event']);
    expect(e2.find((e) => e.field === 'click_id')?.message).toMatch(/click_id.*cid/);
  });

  it('accepts identical repeats and rejects different repeats', () => {
    expect(ok({ click_id: [CLICK, CLICK], event: ['sale'] })).toEqual({ clickId: CLICK, event: 'sale' });
    expect(ok({ event: ['', 'sale'] })).toEqual({ event: 'sale' });
    expect(ok({ event: [] })).toEqual({});
    const errs = errors({ txid: ['a', 'b'] });
    expect(errs).toEqual([{ field: 'txid', message: expect.stringContaining('given more than once with different values') }]);
  });

  it('converts numbers and booleans from a JSON body', () => {
    expect(ok({ amount: 12.5, event: 7, txid: 123456, token: true })).toEqual({ amount: '12.5', event: '7', txid: '123456', token: 'true' });
    expect(errors({ amount: 1e21 })[0]?.field).toBe('amount');
    expect(errors({ amount: -1 })[0]?.field).toBe('amount');
  });

  it('rejects objects', () => {
    expect(errors({ click_id: { $ne: null } })).toEqual([{ field: 'click_id', message: expect.stringContaining('must be a string') }]);
    expect(errors({ event: [['nested']] })[0]?.message).toContain('must be a string');
    expect(errors({ token: { a: 1 } })[0]?.field).toBe('token');
  });

  it('treats empty strings, null and undefined as absent', () => {
    expect(ok({ click_id: '', event: '   ', txid: null, amount: undefined, currency: '' })).toEqual({});
  });

  it('trims values', () => {
    expect(ok({ amount: ' 12.50 ', currency: ' usd ' })).toEqual({ amount: '12.50', currency: 'USD' });
  });

  it.each([
    [{ click_id: '102abc' }, 'click_id', 'is not a clicktrail click id'],
    [{ cid: `${CLICK}x` }, 'click_id', 'is not a clicktrail click id'],
    [{ event: 'a b' }, 'event', ''],
    [{ event: 'x'.repeat(65) }, 'event', ''],
    [{ txid: 'x'.repeat(129) }, 'txid', ''],
    [{ txid: 'a\nb' }, 'txid', ''],
    [{ txid: 'tx\u0000' }, 'txid', ''],
    [{ txid: 'café' }, 'txid', ''],
    [{ amount: '1e5' }, 'amount', 'must be a non-negative decimal number such as 12.50'],
    [{ amount: '-1' }, 'amount', 'non-negative'],
    [{ amount: '.5' }, 'amount', 'non-negative'],
    [{ amount: '10.' }, 'amount', 'non-negative'],
    [{ amount: '1,000.00' }, 'amount', 'non-negative'],
    [{ amount: '1.1234567' }, 'amount', 'non-negative'],
    [{ amount: '12345678901234' }, 'amount', 'non-negative'],
    [{ currency: 'XYZ' }, 'currency', 'is not an ISO 4217 currency code'],
    [{ currency: 'dollars' }, 'currency', 'ISO 4217'],
    [{ status: 'paid' }, 'status', 'approved'],
    [{ status: '__proto__' }, 'status', 'pending'],
    [{ campaign: 'a/b' }, 'campaign', ''],
    [{ campaign_id: 'x'.repeat(65) }, 'campaign', ''],
    [{ adv: '$where' }, 'adv', ''],
  ])('rejects %j', (input, field, message) => {
    const errs = errors(input);
    expect(errs).toHaveLength(1);
    expect(errs[0]?.field).toBe(field);
    expect(errs[0]?.message).toContain(message);
  });

  it('accepts boundary values', () => {
    expect(ok({ event: 'a:b.c-d_e'.padEnd(64, 'x') }).event).toHaveLength(64);
    expect(ok({ txid: 'a !~'.padEnd(128, 'z') }).txid).toHaveLength(128);
    expect(ok({ amount: '9999999999999.999999' }).amount).toBe('9999999999999.999999');
    expect(ok({ campaign: 'A'.repeat(64) }).campaignId).toHaveLength(64);
  });

  it.each([
    ['approved', 'approved'],
    ['APPROVE', 'approved'],
    ['confirmed', 'approved'],
    ['pending', 'pending'],
    ['Hold', 'pending'],
    ['rejected', 'rejected'],
    ['declined', 'rejected'],
    ['canceled', 'rejected'],
    ['CANCELLED', 'rejected'],
  ])('maps status %s to %s', (raw, status) => {
    expect(ok({ status: raw }).status).toBe(status);
  });

  it('collects every problem', () => {
    const errs = errors({ click_id: 'nope', event: '!', amount: 'x', currency: 'zz', status: 'meh' });
    expect(errs.map((e) => e.field).sort()).toEqual(['amount', 'click_id', 'currency', 'event', 'status']);
  });

  it('ignores inherited and unrelated properties', () => {
    const proto = { click_id: CLICK };
    expect(ok(Object.create(proto) as Record<string, unknown>)).toEqual({});
    expect(ok(JSON.parse('{"__proto__": {"event": "x"}, "foo": "bar"}') as Record<string, unknown>)).toEqual({});
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { event: 'sale' });
    expect(ok(nullProto)).toEqual({ event: 'sale' });
  });

  it('never throws for arbitrary objects (property)', () => {
    const keys = fc.constantFrom(
      'click_id', 'clickid', 'cid', 'subid', 'session_id', 'event', 'goal', 'et', 'event_id', 'goal_id', 'txid', 'transaction_id',
      'order_id', 'tid', 'action_id', 'amount', 'payout', 'sum', 'sale_amount', 'revenue', 'currency', 'status', 'token', 'campaign', 'adv',
      '__proto__', 'constructor', 'toString',
    );
    const input = fc.dictionary(fc.oneof(keys, fc.string()), fc.oneof(fc.anything(), fc.constant(CLICK), fc.array(fc.string())));
    fc.assert(
      fc.property(input, (obj) => {
        const r = parseConversionParams(obj);
        if (r.ok) {
          for (const v of Object.values(r.value)) expect(typeof v).toBe('string');
        } else {
          expect(r.errors.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
    expect(() => parseConversionParams(null as unknown as Record<string, unknown>)).not.toThrow();
  });
});
