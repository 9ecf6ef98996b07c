import { clickCookies, sessionFromCookies } from '../../src/http/tracking-cookies';

const sid = '019ae0a4-5f3b-7c2e-9a1b-3c4d5e6f7a8b';

describe('clickCookies', () => {
  test('plain http: the last click and the campaign click, HttpOnly, SameSite=Lax, for the window', () => {
    expect(clickCookies(sid, 'camp1', 3600, false)).toEqual([
      `ct_sid=${sid}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`,
      `ct_c_camp1=${sid}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`,
    ]);
  });

  test('https: Secure and SameSite=None, so a cross-site pixel carries them', () => {
    expect(clickCookies(sid, 'camp1', 60, true)).toEqual([
      `ct_sid=${sid}; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=None`,
      `ct_c_camp1=${sid}; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=None`,
    ]);
  });

  test('a window that is not a whole number of seconds is refused, not written', () => {
    expect(() => clickCookies(sid, 'camp1', 1.5, false)).toThrow(/maxAge/);
  });
});

describe('sessionFromCookies', () => {
  test("the campaign's own click wins over the last click", () => {
    expect(sessionFromCookies(`ct_sid=last; ct_c_camp1=${sid}`, 'camp1')).toBe(sid);
    expect(sessionFromCookies(`ct_sid=last; ct_c_camp1=${sid}`, 'camp2')).toBe('last');
    expect(sessionFromCookies('ct_sid=last', undefined)).toBe('last');
  });

  test('no header or no tracking cookie: none', () => {
    expect(sessionFromCookies(undefined, 'camp1')).toBeUndefined();
    expect(sessionFromCookies('other=1', 'camp1')).toBeUndefined();
  });
});
