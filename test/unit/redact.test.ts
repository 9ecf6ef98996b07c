import { redactParams, redactUrl } from '../../src/http/redact';
import { truncateIp } from '../../src/http/api/visitor-ip';

describe('redactUrl', () => {
  test.each([
    ['/postback?click_id=a&token=S3CRET&event=sale', '/postback?click_id=a&token=[redacted]&event=sale'],
    ['/postback?security_token=S3CRET', '/postback?security_token=[redacted]'],
    ['/postback?verification_token=S3CRET&secure=S3CRET', '/postback?verification_token=[redacted]&secure=[redacted]'],
    ['/postback?TOKEN=S3CRET', '/postback?TOKEN=[redacted]'],
    ['/postback?%74oken=S3CRET', '/postback?%74oken=[redacted]'],
    ['/postback?token[]=S3CRET&token=S3CRET', '/postback?token[]=[redacted]&token=[redacted]'],
    ['/postback?token', '/postback?token=[redacted]'],
    ['/postback?a=%E0%A4%A&token=S3CRET#frag', '/postback?a=%E0%A4%A&token=[redacted]#frag'],
    ['/c/cmp?pub=p&tokens=x', '/c/cmp?pub=p&tokens=x'],
    ['/healthz', '/healthz'],
  ])('%s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

test('redactParams replaces every token alias and keeps the rest', () => {
  expect(redactParams({ click_id: 'a', token: 'S', Secure: 'S', amount: '1' })).toEqual({ click_id: 'a', token: '[redacted]', Secure: '[redacted]', amount: '1' });
  expect(redactParams(undefined)).toBeUndefined();
});

describe('truncateIp', () => {
  test.each([
    ['203.0.113.77', '203.0.113.0'],
    ['::ffff:198.51.100.200', '198.51.100.0'],
    ['2001:db8:abcd:12:34::9', '2001:db8:abcd::'],
    ['::1', '::'],
    ['not an ip', ''],
    ['', ''],
  ])('%s → %s', (ip, expected) => {
    expect(truncateIp(ip)).toBe(expected);
  });
});
