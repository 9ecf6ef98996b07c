import fc from 'fast-check';
import { clickMacroValues, conversionMacroValues, fillUrl, type MacroValues } from '../../src/domain/macros';

const filled = (template: string, values: MacroValues) => {
  const r = fillUrl(template, values);
  if (!r.ok) throw new Error(`expected ok for ${template}: ${r.reason}`);
  return r.url;
};

describe('fillUrl', () => {
  it('fills macros with URL-encoded values', () => {
    expect(filled('https://shop.example/land?cid={click_id}&s={sub1}', { click_id: 'abc', sub1: 'a b&c=d/é' })).toBe(
      'https://shop.example/land?cid=abc&s=a%20b%26c%3Dd%2F%C3%A9',
    );
    expect(filled('https://x.example/{p.utm_source}/{sub-3}', { 'p.utm_source': 'news', 'sub-3': 7 })).toBe('https://x.example/news/7');
  });

  it('empties missing, null and undefined values', () => {
    expect(filled('https://x.example/?a={a}&b={b}&c={c}&d={d}', { a: null, b: undefined, d: 0 })).toBe('https://x.example/?a=&b=&c=&d=0');
  });

  it('leaves non-macro braces alone and preserves the template encoding', () => {
    expect(filled('https://x.example/{}/{a b}/{a}?q=%2F{{a}}', { a: '1' })).toBe('https://x.example/{}/{a b}/1?q=%2F{1}');
    expect(filled('https://x.example/path%20with/%7Bx%7D', {})).toBe('https://x.example/path%20with/%7Bx%7D');
  });

  it('does not read values from the prototype chain', () => {
    expect(filled('https://x.example/?a={constructor}&b={__proto__}&c={toString}', {})).toBe('https://x.example/?a=&b=&c=');
    const nullProto = Object.assign(Object.create(null) as Record<string, string>, { a: 'x' });
    expect(filled('https://x.example/{a}', nullProto)).toBe('https://x.example/x');
  });

  it('survives lone surrogates in values', () => {
    expect(filled('https://x.example/{a}', { a: 'x\uD800y' })).toBe('https://x.example/x%EF%BF%BDy');
  });

  it('checks every fill of a template it has seen before, not only the first', () => {
    const template = 'https://x.example:{a}/{b}/end';
    expect(filled(template, { a: '443', b: 'ok' })).toBe('https://x.example:443/ok/end');
    expect(fillUrl(template, { a: '8080', b: 'ok' })).toMatchObject({ ok: false, reason: expect.stringContaining("change the URL's origin") });
    expect(fillUrl(template, { a: '443', b: '..' })).toMatchObject({ ok: false, reason: expect.stringContaining('path segment') });
    expect(filled(template, { a: '443', b: 'again' })).toBe('https://x.example:443/again/end');
  });

  it('keeps answering for a template after many others have been filled', () => {
    const first = 'https://first.example/{a}';
    expect(filled(first, { a: '1' })).toBe('https://first.example/1');
    for (let i = 0; i < 2_500; i++) filled(`https://t${i}.example/{a}`, { a: String(i) });
    expect(filled(first, { a: '2' })).toBe('https://first.example/2');
    expect(fillUrl('ftp://x.example/{a}', {})).toMatchObject({ ok: false });
    expect(fillUrl('ftp://x.example/{a}', {})).toMatchObject({ ok: false, reason: expect.stringContaining('http or https') });
  });

  it('trims the template', () => {
    expect(filled('  https://x.example/{a}\n', { a: '1' })).toBe('https://x.example/1');
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['/relative/{a}', 'absolute'],
    ['x.example/{a}', 'absolute'],
    ['javascript:alert(1)//{a}', 'http or https'],
    ['ftp://x.example/{a}', 'http or https'],
    ['data:text/html,{a}', 'http or https'],
    ['https://x.exa\nmple/', 'control'],
    ['https://x.example/\u0000', 'control'],
  ])('rejects the template %j', (template, reason) => {
    const r = fillUrl(template, { a: '1' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  describe('host injection', () => {
    const attempts = ['evil.com', 'evil.com/', '@evil.com', '//evil.com', '\\evil.com', '%2Fevil.com', '.evil.com', ':8080', 'evil.com#', 'evil.com?', 'a@evil.com:80', '\u3002evil.com', 'EVIL.com'];

    it.each(attempts)('a value in the host cannot redirect elsewhere: %j', (v) => {
      for (const t of ['https://{sub1}.example.com/x', 'http://x.com{sub1}', 'http://x.com{sub1}/path', 'https://{sub1}/', 'http://x.com:{sub1}/']) {
        const r = fillUrl(t, { sub1: v });
        if (r.ok) {
          const empty = fillUrl(t, {});
          expect(empty.ok).toBe(true);
          if (empty.ok) expect(new URL(r.url).host).toBe(new URL(empty.url).host);
        }
      }
    });

    it('rejects the examples from the contract', () => {
      expect(fillUrl('https://{sub1}.example.com/x', { sub1: 'evil.com/' }).ok).toBe(false);
      expect(fillUrl('http://x.com{sub1}', { sub1: '@evil.com' }).ok).toBe(false);
      expect(fillUrl('http://x.com{sub1}', { sub1: '.evil.com' }).ok).toBe(false);
      expect(fillUrl('http://x.com:{port}/', { port: '8443' }).ok).toBe(false);
      expect(fillUrl('{sub1}https://x.com/', { sub1: 'a' }).ok).toBe(false);
      expect(fillUrl('http{sub1}://x.com/', { sub1: 's' }).ok).toBe(false);
    });

    it('macros in the user-info, path, query and fragment cannot change the host', () => {
      for (const v of attempts) {
        for (const t of ['https://{sub1}@x.com/', 'https://x.com/{sub1}', 'https://x.com/?a={sub1}', 'https://x.com/#{sub1}', 'https://x.com{sub1}']) {
          const r = fillUrl(t, { sub1: v });
          if (r.ok) expect(new URL(r.url).host).toBe('x.com');
        }
        const r = fillUrl('https://x.com/{sub1}', { sub1: v });
        expect(r.ok).toBe(true);
      }
    });

    it('never changes the origin for arbitrary values (property)', () => {
      const templates = fc.constantFrom(
        'https://{a}.example.com/x?b={b}',
        'http://x.com{a}/{b}',
        'http://x.com{a}',
        'https://{a}@x.com:8443/{b}',
        'https://x.com:{a}/',
        'http{a}://x.com/{b}',
        '{a}https://x.com/',
        'https://x.com/{a}?{b}#{a}',
        'https://[::1]{a}/',
        'http://127.0.0.1{a}/',
      );
      const value = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('@evil.com', '//evil', '\\evil', '%2F', '.evil.com', ':99', '#', '?'));
      fc.assert(
        fc.property(templates, value, value, (template, a, b) => {
          const r = fillUrl(template, { a, b });
          const empty = fillUrl(template, {});
          if (r.ok) {
            expect(empty.ok).toBe(true);
            if (empty.ok) {
              const u = new URL(r.url);
              const e = new URL(empty.url);
              expect(u.protocol).toBe(e.protocol);
              expect(u.host).toBe(e.host);
              expect(['http:', 'https:']).toContain(u.protocol);
            }
          }
        }),
        { numRuns: 500 },
      );
    });
  });
});

const session = {
  sessionId: '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b',
  campaignId: 'camp1',
  advertiserId: 'adv1',
  publisherId: 'pub1',
  assetId: 'banner-7',
  supportId: null,
  country: 'FR',
  device: { type: 'mobile' },
  publisherData: { sub1: 'one', sub3: 'three', utm_source: 'news', 'weird key': 'w' },
};

describe('clickMacroValues', () => {
  it('exposes the session as macros', () => {
    const v = clickMacroValues(session);
    expect(v).toEqual({
      click_id: session.sessionId,
      session_id: session.sessionId,
      campaign_id: 'camp1',
      advertiser_id: 'adv1',
      publisher_id: 'pub1',
      asset_id: 'banner-7',
      support_id: '',
      country: 'FR',
      device: 'mobile',
      sub1: 'one',
      sub2: '',
      sub3: 'three',
      sub4: '',
      sub5: '',
      sub6: '',
      sub7: '',
      sub8: '',
      sub9: '',
      sub10: '',
      'p.sub1': 'one',
      'p.sub3': 'three',
      'p.utm_source': 'news',
      'p.weird key': 'w',
    });
  });

  it('works without optional fields', () => {
    const v = clickMacroValues({ sessionId: 's', campaignId: 'c', advertiserId: 'a', publisherId: 'p' });
    expect(v.asset_id).toBe('');
    expect(v.country).toBe('');
    expect(v.device).toBe('');
    expect(v.sub10).toBe('');
    expect(Object.keys(v).some((k) => k.startsWith('p.'))).toBe(false);
  });

  it('does not take sub values from the prototype chain', () => {
    const v = clickMacroValues({ ...session, publisherData: Object.create({ sub2: 'inherited' }) as Record<string, string> });
    expect(v.sub2).toBe('');
  });

  it('fills a landing URL end to end', () => {
    const url = filled('https://shop.example/?clickid={click_id}&src={p.utm_source}&s1={sub1}&s2={sub2}&geo={country}', clickMacroValues(session));
    expect(url).toBe(`https://shop.example/?clickid=${session.sessionId}&src=news&s1=one&s2=&geo=FR`);
  });
});

describe('conversionMacroValues', () => {
  const conversion = { event: 'sale', txid: 'ORD-1', amountMinor: 12345, payoutMinor: 1050, currency: 'USD', status: 'approved', conversionId: 'conv-1' };

  it('adds the conversion to the click values', () => {
    const v = conversionMacroValues(session, conversion);
    expect(v).toMatchObject({
      click_id: session.sessionId,
      sub1: 'one',
      'p.utm_source': 'news',
      event: 'sale',
      txid: 'ORD-1',
      amount: '123.45',
      payout: '10.50',
      currency: 'USD',
      status: 'approved',
      conversion_id: 'conv-1',
    });
  });

  it('formats by currency precision and empties absent values', () => {
    const v = conversionMacroValues(session, { ...conversion, txid: null, amountMinor: null, payoutMinor: 700, currency: 'JPY' });
    expect(v.txid).toBe('');
    expect(v.amount).toBe('');
    expect(v.payout).toBe('700');
    const k = conversionMacroValues(session, { ...conversion, amountMinor: 1, payoutMinor: 1500, currency: 'KWD' });
    expect(k.amount).toBe('0.001');
    expect(k.payout).toBe('1.500');
  });

  it('formats {amount} in the currency it was reported in, not the event currency (review #4)', () => {
    const v = conversionMacroValues(session, { ...conversion, amountMinor: 1000, amountCurrency: 'JPY', payoutMinor: 250, currency: 'EUR' });
    expect(v).toMatchObject({ amount: '1000', amount_currency: 'JPY', payout: '2.50', currency: 'EUR' });
    const usd = conversionMacroValues(session, { ...conversion, amountMinor: 1000, amountCurrency: 'USD', payoutMinor: 250, currency: 'EUR' });
    expect(usd).toMatchObject({ amount: '10.00', amount_currency: 'USD' });
    expect(conversionMacroValues(session, { ...conversion, amountMinor: null, amountCurrency: null }).amount_currency).toBe('');
  });

  it('fills a publisher postback end to end', () => {
    const url = filled(
      'https://tracker.example/postback?cid={sub1}&payout={payout}&cur={currency}&tx={txid}&st={status}&e={event}',
      conversionMacroValues(session, { ...conversion, txid: 'A&B=1' }),
    );
    expect(url).toBe('https://tracker.example/postback?cid=one&payout=10.50&cur=USD&tx=A%26B%3D1&st=approved&e=sale');
  });
});

describe('dot segments from macro values (audit L6)', () => {
  const template = 'https://network.example/pb/{p.aff}/conv?key=SECRET';

  it.each(['..', '.', '%2e%2e', '.%2E'])('a value %j cannot climb out of the template path, or is kept literal', (v) => {
    const r = fillUrl(template, { 'p.aff': v });
    if (r.ok) expect(new URL(r.url).pathname.startsWith('/pb/')).toBe(true);
    if (v === '..' || v === '.') {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain("'..' path segment");
    }
  });

  it('refuses values that complete a dot segment with the template text', () => {
    expect(fillUrl('https://x.example/a/.{sub1}/b', { sub1: '.' }).ok).toBe(false);
    expect(fillUrl('https://x.example/a/{sub1}{sub2}/b', { sub1: '.', sub2: '.' }).ok).toBe(false);
    expect(fillUrl('https://x.example/a/%2{sub1}%2e/b', { sub1: 'e' }).ok).toBe(false);
    expect(fillUrl('https://adv.example/offers/{sub1}/lp', { sub1: '..' }).ok).toBe(false);
  });

  it('keeps dots that make no dot segment, and dots in the query or fragment', () => {
    expect(filled('https://x.example/a/{sub1}/b', { sub1: '...' })).toBe('https://x.example/a/.../b');
    expect(filled('https://x.example/a/{sub1}/b', { sub1: '.well' })).toBe('https://x.example/a/.well/b');
    expect(filled('https://x.example/f/{sub1}', { sub1: 'v1.2' })).toBe('https://x.example/f/v1.2');
    expect(filled('https://x.example/a/b?x={sub1}#{sub2}', { sub1: '..', sub2: '..' })).toBe('https://x.example/a/b?x=..#..');
  });

  it('property: a filled URL keeps every static path segment of the template', () => {
    fc.assert(
      fc.property(fc.constantFrom('.', '..', '%2e', 'a', '/', '', '.a', 'e'), fc.constantFrom('.', '..', 'b', ''), (a, b) => {
        const r = fillUrl('https://x.example/keep/{a}{b}/tail/{b}', { a, b });
        if (!r.ok) return;
        const path = new URL(r.url).pathname;
        expect(path.startsWith('/keep/')).toBe(true);
        expect(path).toContain('/tail/');
      }),
    );
  });
});
