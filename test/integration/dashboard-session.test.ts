import { issueApiKey } from '../../src/persistence/models/api-key';
import { BrowserSession, hashSessionId } from '../../src/persistence/models/browser-session';
import { clientFor, type ApiClient } from '../support/api-client';
import type { Fixture } from '../support/fixtures';
import { stopAll, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startWithFixture } from '../support/app-with-sink';

// The dashboard's sign-in (issue #13): an API key exchanged for an HttpOnly, SameSite=Strict session
// cookie that the API accepts, with a CSRF token required on changes, sign-out and expiry.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
let op: ApiClient;
beforeAll(async () => {
  ({ app, sink, f } = await startWithFixture());
  op = await clientFor(app, 'operator');
});
afterAll(() => stopAll(app, sink));

interface Signed {
  cookie: string;
  setCookie: string;
  csrf: string;
  body: Record<string, unknown>;
}

async function signIn(key: string): Promise<Signed> {
  const res = await fetch(app.url('/api/v1/session'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status).toBe(201);
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0]!, setCookie, csrf: String(body.csrf_token), body };
}

function withCookie(s: Signed, path: string, init: RequestInit = {}) {
  return fetch(app.url(`/api/v1${path}`), { ...init, headers: { cookie: s.cookie, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) } });
}

describe('dashboard sign-in', () => {
  test('sets an HttpOnly, SameSite=Strict cookie holding an opaque id stored only as a hash; the key is not in it', async () => {
    const { key, record } = await issueApiKey({ kind: 'publisher', accountId: f.publisherId });
    const s = await signIn(key);
    expect(s.setCookie).toMatch(/^ct_session=[A-Za-z0-9_-]{43};/);
    expect(s.setCookie).toMatch(/; HttpOnly/);
    expect(s.setCookie).toMatch(/; SameSite=Strict/);
    expect(s.setCookie).toMatch(/; Path=\//);
    expect(s.setCookie).toMatch(/; Expires=/);
    expect(s.setCookie).not.toContain(key);
    expect(s.body).toMatchObject({ kind: 'publisher', account_id: f.publisherId, key_id: record._id });
    expect(typeof s.body.csrf_token).toBe('string');
    const id = s.cookie.slice('ct_session='.length);
    const stored = await BrowserSession.findById(hashSessionId(id)).lean();
    expect(stored?.keyId).toBe(record._id);
    expect(await BrowserSession.findById(id).lean()).toBeNull();

    // The API takes the cookie as it takes the key, with the same scope.
    const sessions = await withCookie(s, '/sessions');
    expect(sessions.status).toBe(200);
    const who = await withCookie(s, '/session');
    expect(await who.json()).toMatchObject({ kind: 'publisher', csrf_token: s.csrf });
    const advertisers = await withCookie(s, '/advertisers');
    expect(advertisers.status).toBe(403);
  });

  test('a wrong key, no key or a body that is not JSON is refused with a reason and sets no cookie', async () => {
    const wrong = await fetch(app.url('/api/v1/session'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'ct_ope_nope' }) });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('unknown or revoked API key');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const empty = await fetch(app.url('/api/v1/session'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { fields: unknown[] }).fields).toEqual([{ path: 'key', message: expect.stringMatching(/required/) }]);
    // A cross-site form can post urlencoded without a preflight: not accepted here.
    const form = await fetch(app.url('/api/v1/session'), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'key=x' });
    expect(form.status).toBe(415);
    const broken = await fetch(app.url('/api/v1/session'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"key":' });
    expect(broken.status).toBe(400);
  });

  test('a change made with the cookie needs the CSRF token: 403 without it or with a wrong one, done with it', async () => {
    const { key } = await issueApiKey({ kind: 'operator', accountId: null });
    const s = await signIn(key);
    const body = JSON.stringify({ id: `${f.advertiserId}-csrf`, name: 'made from the dashboard' });
    const without = await withCookie(s, '/advertisers', { method: 'POST', body });
    expect(without.status).toBe(403);
    expect(((await without.json()) as { error: string }).error).toMatch(/X-CSRF-Token/);
    const wrong = await withCookie(s, '/advertisers', { method: 'POST', body, headers: { 'x-csrf-token': 'guess' } });
    expect(wrong.status).toBe(403);
    expect((await op.get(`/advertisers/${f.advertiserId}-csrf`)).status).toBe(404);
    const ok = await withCookie(s, '/advertisers', { method: 'POST', body, headers: { 'x-csrf-token': s.csrf } });
    expect(ok.status).toBe(201);
    // Another session's token does not fit this one.
    const other = await signIn(key);
    const crossed = await withCookie(s, `/advertisers/${f.advertiserId}-csrf`, { method: 'PATCH', body: JSON.stringify({ name: 'x' }), headers: { 'x-csrf-token': other.csrf } });
    expect(crossed.status).toBe(403);
  });

  test('sign-out ends the session at once and clears the cookie', async () => {
    const { key } = await issueApiKey({ kind: 'advertiser', accountId: f.advertiserId });
    const s = await signIn(key);
    expect((await withCookie(s, '/campaigns')).status).toBe(200);
    const noToken = await withCookie(s, '/session', { method: 'DELETE' });
    expect(noToken.status).toBe(403);
    const out = await withCookie(s, '/session', { method: 'DELETE', headers: { 'x-csrf-token': s.csrf } });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^ct_session=; .*Expires=Thu, 01 Jan 1970/);
    const after = await withCookie(s, '/campaigns');
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: string }).error).toMatch(/signed out or expired/);
  });

  test('an expired session answers 401, and the session never outlives its key', async () => {
    const { key } = await issueApiKey({ kind: 'operator', accountId: null });
    const s = await signIn(key);
    const id = hashSessionId(s.cookie.slice('ct_session='.length));
    await BrowserSession.updateOne({ _id: id }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await withCookie(s, '/sessions')).status).toBe(401);

    const soon = new Date(Date.now() + 60_000);
    const short = await issueApiKey({ kind: 'operator', accountId: null, expiresAt: soon });
    const t = await signIn(short.key);
    expect(t.body.expires_at).toBe(soon.toISOString());
  });

  test("a revoked key's session stops working at once", async () => {
    const { key, record } = await issueApiKey({ kind: 'publisher', accountId: f.publisherId });
    const s = await signIn(key);
    expect((await withCookie(s, '/sessions')).status).toBe(200);
    expect((await op.post(`/api-keys/${record._id}/revoke`)).status).toBe(200);
    const after = await withCookie(s, '/sessions');
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: string }).error).toBe('unknown or revoked API key');
  });
});

describe('dashboard pages', () => {
  test('/app/ serves the built page with a strict Content-Security-Policy; /app redirects there; a deep link gets the page too', async () => {
    const page = await fetch(app.url('/app/'));
    if (page.status === 503) {
      // Not built in this checkout: the answer says what to do.
      expect(await page.text()).toMatch(/npm run build/);
      return;
    }
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const html = await page.text();
    expect(html).toMatch(/<script type="module" crossorigin src="\/app\/assets\/index-[\w-]+\.js">/);
    const deep = await fetch(app.url('/app/sessions/x?y=1'));
    expect(await deep.text()).toBe(html);
    const bare = await fetch(app.url('/app'), { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/app/');
    const missing = await fetch(app.url('/app/assets/nope.js'));
    expect(missing.status).toBe(404);
  });
});
