import { hostAllowed, OPEN_PIXEL_POLICY, pageHost, PIXEL_HOST_RE, pixelRefusal } from '../../src/domain/pixel-policy';

test('the page host comes from Origin, else Referer; anything else is no host', () => {
  expect(pageHost('https://Shop.Example', 'https://other.example/x')).toBe('shop.example');
  expect(pageHost(undefined, 'https://www.shop.example/thanks?o=1')).toBe('www.shop.example');
  expect(pageHost('null', 'https://shop.example/')).toBe('shop.example');
  expect(pageHost('not a url', 'also not')).toBeNull();
  expect(pageHost(undefined, undefined)).toBeNull();
});

test('hosts match exactly, or as subdomains of a *. entry only', () => {
  expect(hostAllowed('shop.example', [])).toBe(true);
  expect(hostAllowed(null, [])).toBe(true);
  expect(hostAllowed('shop.example', ['shop.example'])).toBe(true);
  expect(hostAllowed('www.shop.example', ['shop.example'])).toBe(false);
  expect(hostAllowed('www.shop.example', ['*.shop.example'])).toBe(true);
  expect(hostAllowed('shop.example', ['*.shop.example'])).toBe(false);
  expect(hostAllowed('evilshop.example', ['*.shop.example'])).toBe(false);
  expect(hostAllowed('shop.example.evil.test', ['shop.example'])).toBe(false);
  expect(hostAllowed(null, ['shop.example'])).toBe(false);
});

test('host entries are DNS names', () => {
  for (const ok of ['shop.example', '*.shop.example', 'localhost', 'a-b.c1.example']) expect(PIXEL_HOST_RE.test(ok)).toBe(true);
  for (const bad of ['https://shop.example', 'shop.example/x', '*', '*.', 'a..b', '-a.example', 'shop.example:80', '']) expect(PIXEL_HOST_RE.test(bad)).toBe(false);
});

test('each refusal says why; an open policy refuses nothing', () => {
  const req = { clickIdParam: true, pageHost: 'evil.example' };
  expect(pixelRefusal(OPEN_PIXEL_POLICY, req)).toBeNull();
  expect(pixelRefusal({ ...OPEN_PIXEL_POLICY, enabled: false }, req)).toMatch(/switched off/);
  expect(pixelRefusal({ ...OPEN_PIXEL_POLICY, cookieOnly: true }, req)).toMatch(/cookie only/);
  expect(pixelRefusal({ ...OPEN_PIXEL_POLICY, cookieOnly: true }, { ...req, clickIdParam: false })).toBeNull();
  expect(pixelRefusal({ ...OPEN_PIXEL_POLICY, allowedHosts: ['shop.example'] }, req)).toMatch(/"evil.example" is not on/);
  expect(pixelRefusal({ ...OPEN_PIXEL_POLICY, allowedHosts: ['shop.example'] }, { ...req, pageHost: null })).toMatch(/no Origin or Referer/);
});
