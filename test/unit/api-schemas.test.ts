import { decodeCursor, encodeCursor } from '../../src/http/api/pagination';
import { urlTemplateProblem } from '../../src/http/api/schemas';
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

test('cursors round-trip and a forged one is refused', () => {
  expect(decodeCursor(encodeCursor('cmp_01'))).toBe('cmp_01');
  expect(decodeCursor(undefined)).toBeNull();
  expect(() => decodeCursor('bm9wZQ')).not.toThrow();
  expect(() => decodeCursor('bm9wZQ=')).toThrow(/cursor/);
});

describe('postback templates and the outbound policy (audit H3)', () => {
  const strict = new OutboundPolicy();
  it.each([
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/?c={click_id}',
    'http://127.0.0.1:8233/api/v1/namespaces',
    'http://[::1]/',
    'http://2130706433:8080/healthz',
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
