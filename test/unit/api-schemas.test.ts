import fc from 'fast-check';
import { jsonSchemaOf, pageQuery, siteUrl, urlTemplate, urlTemplateProblem } from '../../src/http/api/schemas';
import { OutboundPolicy } from '../../src/outbound/address-policy';

test('URL templates: macros anywhere but the origin, known names only, http(s) only', () => {
  expect(urlTemplateProblem('https://shop.example/l?cid={click_id}&s={sub3}&x={p.utm_source}', 'landing')).toBeNull();
  expect(urlTemplateProblem('https://net.example/pb?c={click_id}&p={payout}&e={event}', 'postback')).toBeNull();
  expect(urlTemplateProblem('https://{sub1}.example/l', 'landing')).toMatch(/host/);
  expect(urlTemplateProblem('https://shop.example{sub1}/l', 'landing')).toMatch(/host/);
  expect(urlTemplateProblem('https://shop.example:{sub1}/l', 'landing')).toMatch(/host|port/);
  expect(urlTemplateProblem('{sub1}', 'landing')).not.toBeNull();
  expect(urlTemplateProblem('javascript:alert(1)', 'landing')).toMatch(/http/);
  expect(urlTemplateProblem('https://shop.example/l?c={clickid}', 'landing')).toMatch(/unknown macro \{clickid\}/);
  expect(urlTemplateProblem('https://shop.example/l?p={payout}', 'landing')).toMatch(/unknown macro/);
});

test('a cursor is the last id of a page: ids of every kind pass, anything else is refused', () => {
  const cursor = pageQuery.cursor;
  for (const ok of ['cmp_01', '0198a3c2-7e4b-7c1d-9a2b-3c4d5e6f7a8b', 'dlv:0198a3c2.publisher-resend-2']) expect(cursor.safeParse(ok).success).toBe(true);
  for (const bad of ['', 'a b', 'x'.repeat(401), 'é']) expect(cursor.safeParse(bad).success).toBe(false);
});

/** The pattern without its lookarounds (fast-check cannot generate from them); the real one filters. */
function withoutLookarounds(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    if (source[i] === '\\') {
      out += source.slice(i, i + 2);
      i++;
    } else if (/^\(\?<?[!=]/.test(source.slice(i, i + 4))) {
      let depth = 0;
      for (; i < source.length; i++) {
        if (source[i] === '\\') i++;
        else if (source[i] === '(') depth++;
        else if (source[i] === ')' && --depth === 0) break;
      }
    } else out += source[i];
  }
  return out;
}

describe('the documented URL pattern (OpenAPI) promises only URLs the server accepts', () => {
  const pattern = (kind: 'landing' | 'postback') => new RegExp((jsonSchemaOf(urlTemplate(kind)) as { pattern: string }).pattern);
  it.each(['landing', 'postback'] as const)('%s', (kind) => {
    const re = pattern(kind);
    const strict = new OutboundPolicy();
    fc.assert(
      fc.property(fc.stringMatching(new RegExp(withoutLookarounds(re.source))).filter((u) => re.test(u)), (url) => {
        expect([url, urlTemplateProblem(url, kind, kind === 'postback' ? strict : undefined)]).toEqual([url, null]);
      }),
      { numRuns: 2000 },
    );
  });
  // schemathesis sends strings the pattern refuses, most often a documented URL with one character
  // changed, and fails the run when the server accepts one (CI of stop 33: http://i.6.r* was created).
  it.each(['landing', 'postback', 'site'] as const)('%s: a documented URL changed by one character is refused unless it still matches', (kind) => {
    const re = kind === 'site' ? new RegExp((jsonSchemaOf(siteUrl) as { pattern: string }).pattern) : pattern(kind);
    const strict = new OutboundPolicy();
    const accepted = (url: string) =>
      kind === 'site' ? siteUrl.safeParse(url).success : urlTemplateProblem(url, kind, kind === 'postback' ? strict : undefined) === null;
    const edit = fc.record({ at: fc.nat(), op: fc.constantFrom('insert', 'replace', 'delete', 'upper'), char: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) });
    fc.assert(
      fc.property(fc.stringMatching(new RegExp(withoutLookarounds(re.source))).filter((u) => re.test(u)), edit, (url, { at, op, char }) => {
        const i = at % (url.length + 1);
        const changed =
          op === 'insert' ? url.slice(0, i) + char + url.slice(i)
          : op === 'replace' ? url.slice(0, i) + char + url.slice(i + 1)
          : op === 'delete' ? url.slice(0, i) + url.slice(i + 1)
          : url.slice(0, i) + url.slice(i, i + 1).toUpperCase() + url.slice(i + 1);
        if (!re.test(changed)) expect([changed, accepted(changed)]).toEqual([changed, false]);
      }),
      { numRuns: 5000 },
    );
  });
  it('the server names what is wrong with a URL outside the grammar', () => {
    expect(urlTemplateProblem('http://i.6.r*', 'postback')).toMatch(/^"i\.6\.r\*" is not a host/);
    expect(urlTemplateProblem('http://2130706433:8080/healthz', 'postback')).toMatch(/is not a host/);
    expect(urlTemplateProblem(' http://a.bc/', 'landing')).toBe('must start with http:// or https://');
    expect(urlTemplateProblem('HTTP://a.bc/', 'landing')).toBe('must start with http:// or https://');
    expect(urlTemplateProblem('http://a.bc/x y', 'landing')).toMatch(/^after the host there may be no spaces/);
    expect(urlTemplateProblem('http://a.bc/x.{sub1}', 'landing')).toMatch(/may not touch a '\.' or '%'/);
    expect(siteUrl.safeParse('http://a.bc/{sub1}').error?.issues[0]?.message).toMatch(/, \{ or \}$/);
    // What the document leaves out and the server still takes: IPv6 and punycode labels, and public IPv4 for postbacks.
    expect(urlTemplateProblem('http://[2001:db8::1]/l', 'landing')).toBeNull();
    expect(urlTemplateProblem('https://xn--bcher-kva.example/pb', 'postback', new OutboundPolicy())).toBeNull();
    expect(urlTemplateProblem('https://93.184.216.34/pb', 'postback', new OutboundPolicy())).toBeNull();
  });
  it('and leaves out what the server refuses', () => {
    const re = pattern('postback');
    for (const url of ['http://localhost/', 'http://a.localhost/', 'https://shop.local/x', 'http://10.0.0.1/', 'http://a.b/{nope}', 'http://a.b/{click_id}./', 'http://a.b/%{click_id}', 'http://xn--a.com/', 'http://A.xn--0', 'ftp://a.b/', 'http://a.LOCAL/', 'http://a.b.Internal:80/']) {
      expect([url, re.test(url)]).toEqual([url, false]);
    }
    expect(re.test('https://net.example:8443/pb?c={click_id}&p={payout}#{p.utm_source}')).toBe(true);
  });
});

describe('postback templates and the outbound policy (audit H3)', () => {
  const strict = new OutboundPolicy();
  it.each([
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/?c={click_id}',
    'http://127.0.0.1:8233/api/v1/namespaces',
    'http://[::1]/',
    'http://mongodb:27017/',
    'http://temporal-ui:8080/',
    'http://[::ffff:127.0.0.1]/',
    'http://100.64.0.1/',
    'http://localhost:8080/pb?c={click_id}',
  ])('refuses %s', (url) => {
    expect(urlTemplateProblem(url, 'postback', strict)).toMatch(/^the URL must reach the public internet: /);
  });

  it('accepts public hosts, and private ones the operator allowed, never metadata', () => {
    expect(urlTemplateProblem('https://net.example/pb?c={click_id}', 'postback', strict)).toBeNull();
    const open = new OutboundPolicy({ hosts: ['mongodb'], networks: ['0.0.0.0/0'] });
    expect(urlTemplateProblem('http://127.0.0.1:8233/pb', 'postback', open)).toBeNull();
    expect(urlTemplateProblem('http://mongodb:27017/', 'postback', open)).toBeNull();
    expect(urlTemplateProblem('http://169.254.169.254/', 'postback', open)).toMatch(/metadata/);
  });

  it('applies no outbound policy to landing URLs (the browser follows them)', () => {
    expect(urlTemplateProblem('http://127.0.0.1:8080/demo/landing?c={click_id}', 'landing')).toBeNull();
  });
});
