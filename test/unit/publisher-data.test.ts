import fc from 'fast-check';
import { collectPublisherData } from '../../src/domain/publisher-data';

const opts = { maxParams: 20, maxLength: 100, exclude: ['pub', 'asset', 'sup'] } as const;

describe('collectPublisherData', () => {
  it('keeps link parameters except the excluded ones, in order', () => {
    const r = collectPublisherData({ pub: 'p1', sub1: 'a', asset: 'x', utm_source: 'news', sub2: 'b', sup: 's' }, opts);
    expect(r).toEqual({ data: { sub1: 'a', utm_source: 'news', sub2: 'b' }, dropped: 0, truncated: false });
    expect(Object.keys(r.data)).toEqual(['sub1', 'utm_source', 'sub2']);
  });

  it('returns an empty record for no parameters', () => {
    expect(collectPublisherData({}, opts)).toEqual({ data: {}, dropped: 0, truncated: false });
    expect(collectPublisherData({ pub: 'p' }, opts)).toEqual({ data: {}, dropped: 0, truncated: false });
  });

  it('bounds the number of keys', () => {
    const query = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, String(i)]));
    const r = collectPublisherData(query, { ...opts, maxParams: 10 });
    expect(Object.keys(r.data)).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
    expect(r.dropped).toBe(20);
    expect(collectPublisherData({ a: '1', b: '2' }, { ...opts, maxParams: 0 })).toEqual({ data: {}, dropped: 2, truncated: false });
  });

  it('excluded keys do not count towards the bound', () => {
    const r = collectPublisherData({ pub: 'p', a: '1', asset: 'x', b: '2' }, { ...opts, maxParams: 2 });
    expect(r).toEqual({ data: { a: '1', b: '2' }, dropped: 0, truncated: false });
  });

  it('makes keys safe for MongoDB', () => {
    const r = collectPublisherData({ 'utm.source': 'a', $where: 'b', 'a.$.b': 'c', 'nul\u0000key': 'd' }, opts);
    expect(r.data).toEqual({ utm_source: 'a', _where: 'b', a___b: 'c', nul_key: 'd' });
    expect(r.truncated).toBe(false);
  });

  it('cuts long keys to 64 characters', () => {
    const long = 'k'.repeat(100);
    const r = collectPublisherData({ [long]: 'v' }, opts);
    expect(r.data).toEqual({ ['k'.repeat(64)]: 'v' });
    expect(r.truncated).toBe(true);
  });

  it('keeps the first of keys that sanitise to the same name', () => {
    const r = collectPublisherData({ 'a.b': '1', a_b: '2', a$b: '3' }, opts);
    expect(r.data).toEqual({ a_b: '1' });
    expect(r.dropped).toBe(2);
  });

  it('drops empty and prototype-polluting keys', () => {
    const query = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": "c", "prototype": "p", "": "empty", "ok": "1"}') as Record<string, unknown>;
    const r = collectPublisherData(query, opts);
    expect(r.data).toEqual({ ok: '1' });
    expect(Object.hasOwn(r.data, '__proto__')).toBe(false);
    expect(Object.getPrototypeOf(r.data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(r.dropped).toBe(4);
  });

  it('drops keys that only become polluting once sanitised', () => {
    const r = collectPublisherData({ $_proto__: 'x', '._proto__': 'y', '_.proto__': 'z', '__proto__.': 'kept' }, opts);
    expect(r.data).toEqual({ __proto___: 'kept' });
    expect(Object.getPrototypeOf(r.data)).toBe(Object.prototype);
    expect(r.dropped).toBe(3);
  });

  it('normalises values', () => {
    const r = collectPublisherData({ arr: ['first', 'second'], empty: [], num: 42, bool: false, nul: null, undef: undefined, obj: { a: 1 }, bare: Object.create(null) }, opts);
    expect(r.data).toEqual({ arr: 'first', empty: '', num: '42', bool: 'false', nul: '', undef: '', obj: '[object Object]', bare: '' });
  });

  it('cuts long values and reports it', () => {
    const r = collectPublisherData({ a: 'x'.repeat(150), b: 'short' }, opts);
    expect(r.data.a).toHaveLength(100);
    expect(r.data.b).toBe('short');
    expect(r.truncated).toBe(true);
    expect(collectPublisherData({ a: 'x'.repeat(100) }, opts).truncated).toBe(false);
  });

  it('does not split a surrogate pair when cutting', () => {
    const r = collectPublisherData({ a: `${'x'.repeat(99)}😀` }, opts);
    expect(r.data.a).toBe('x'.repeat(99));
    expect(r.truncated).toBe(true);
  });

  it('works on null-prototype query objects', () => {
    const q = Object.assign(Object.create(null) as Record<string, unknown>, { sub1: 'a', pub: 'p' });
    expect(collectPublisherData(q, opts).data).toEqual({ sub1: 'a' });
  });

  it('always respects its bounds (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 80 }), fc.oneof(fc.string({ maxLength: 200 }), fc.array(fc.string()), fc.integer(), fc.constant(null))),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 50 }),
        (query, maxParams, maxLength) => {
          const r = collectPublisherData(query, { maxParams, maxLength, exclude: ['pub'] });
          const keys = Object.keys(r.data);
          expect(keys.length).toBeLessThanOrEqual(maxParams);
          for (const k of keys) {
            expect(k.length).toBeGreaterThan(0);
            expect(k.length).toBeLessThanOrEqual(64);
            expect(/[.$]/.test(k) || k.includes('\u0000')).toBe(false);
            expect(['__proto__', 'constructor', 'prototype']).not.toContain(k);
            expect(typeof r.data[k]).toBe('string');
            expect(r.data[k]?.length).toBeLessThanOrEqual(maxLength);
          }
          expect(keys.length + r.dropped).toBe(Object.keys(query).filter((k) => k !== 'pub').length);
        },
      ),
    );
  });
});
