import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { DuplicateClicks } from '../../src/enrichment/duplicate-clicks';
import { GeoLookup } from '../../src/enrichment/geo';
import { readiness } from '../../src/http/readiness';
import { createHttpApp } from '../../src/http/server';
import { issueApiKey } from '../../src/persistence/models/api-key';
import { inbounds } from '../../src/persistence/models/inbound';
import { sessions } from '../../src/persistence/models/session';
import { apiClient, clientFor } from '../support/api-client';
import { clickUrl, createFixture, type Fixture } from '../support/fixtures';
import { exactGet, get, startTestApp, testId, type TestApp } from '../support/harness';
import { HttpSink } from '../support/http-sink';
import { click } from '../support/tracking-client';

// Abuse limits (issue #9 item 4, audit M1/M4, L3, I1): per-key API rate limits, failed postback
// tokens limited per IP, cookies only on real navigations, no /demo unless enabled, nosniff.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
beforeAll(async () => {
  sink = await new HttpSink().start();
  app = await startTestApp({
    // X-Forwarded-For from loopback is believed, so one test process can speak from several IPs.
    TRUSTED_PROXIES: 'loopback',
    API_RATE_LIMIT_PUBLISHER: '3',
    API_RATE_LIMIT_WINDOW_MS: '600000',
    POSTBACK_AUTH_FAILURES_PER_IP: '3',
    POSTBACK_AUTH_FAILURE_WINDOW_MS: '600000',
    SIGN_IN_FAILURES_PER_IP: '3',
    SIGN_IN_FAILURE_WINDOW_MS: '600000',
  });
  f = await createFixture({ sinkUrl: sink.url });
});
afterAll(async () => {
  await app?.stop();
  await sink?.stop();
});

describe('API rate limit per key', () => {
  test('past its limit a key gets 429 with Retry-After and the RateLimit headers; other keys are not affected', async () => {
    const pub = await clientFor(app, 'publisher', f.publisherId);
    const first = await pub.get('/sessions');
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toMatch(/^"publisher-key"; q=3; w=600; pk=/);
    expect(first.headers.get('ratelimit')).toMatch(/^"publisher-key"; r=2; t=\d+$/);
    expect((await pub.get('/sessions')).status).toBe(200);
    expect((await pub.get('/sessions')).headers.get('ratelimit')).toMatch(/; r=0; /);

    const limited = await pub.get('/sessions');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.error).toMatch(/rate limit exceeded: 3 requests per 600 s for a publisher key; retry after \d+ s/);

    // Another key of the same kind and account, and an operator key, have their own budgets.
    const samePublisherOtherKey = await clientFor(app, 'publisher', f.publisherId);
    expect((await samePublisherOtherKey.get('/sessions')).status).toBe(200);
    const op = await clientFor(app, 'operator');
    const opRes = await op.get('/sessions');
    expect(opRes.status).toBe(200);
    expect(opRes.headers.get('ratelimit-policy')).toMatch(/^"operator-key"; q=1200; w=600;/);
  });

  test('requests without a valid key are answered 401, not counted against anyone', async () => {
    const res = await apiClient(app, 'ct_pub_not-a-key').get('/sessions');
    expect(res.status).toBe(401);
    expect(res.headers.get('ratelimit')).toBeNull();
  });
});

describe('failed postback tokens per IP', () => {
  const postbackFrom = async (ip: string, params: Record<string, string>) => {
    const res = await get(app.url(`/postback?${new URLSearchParams(params)}`), { 'x-forwarded-for': ip });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
  };

  test('after N wrong tokens an IP gets 429 before any work, even with the right token; other IPs are not affected', async () => {
    const { sessionId } = await click(app.httpUrl!, f);
    const attacker = '198.51.100.7';
    for (let i = 0; i < 3; i++) {
      expect((await postbackFrom(attacker, { click_id: sessionId, event: 'registration', token: `guess-${i}` })).status).toBe(401);
    }
    const inboundBefore = await inbounds().countDocuments({ sessionId });

    const blocked = await postbackFrom(attacker, { click_id: sessionId, event: 'registration', token: f.token });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    expect(blocked.body.error).toMatch(/too many requests with a wrong or missing token from this IP/);
    // Refused before the intake: nothing was looked up or recorded for it.
    expect(await inbounds().countDocuments({ sessionId })).toBe(inboundBefore);

    const advertiser = await postbackFrom('198.51.100.8', { click_id: sessionId, event: 'registration', token: f.token });
    expect(advertiser.status).toBe(202);
  });

  test('accepted postbacks do not count towards the limit, however many are in flight at once', async () => {
    const ip = '198.51.100.9';
    const sessions = await Promise.all(Array.from({ length: 8 }, (_, i) => click(app.httpUrl!, f, `&n=${i}`)));
    // More at once than the limit (3): a limiter that counts a request before its answer locks the sender out.
    const answers = await Promise.all(sessions.map(({ sessionId }) => postbackFrom(ip, { click_id: sessionId, event: 'registration', token: f.token })));
    expect(answers.map((a) => a.status)).toEqual(sessions.map(() => 202));
  });
});

describe('failed dashboard sign-ins per IP', () => {
  const signInFrom = async (ip: string, key: string) => {
    const res = await fetch(app.url('/api/v1/session'), { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify({ key }) });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), cookie: res.headers.get('set-cookie'), body: (await res.json()) as { error?: string; fields?: unknown[] } };
  };

  test('after N wrong keys an IP gets 429 with Retry-After, even with a right key; other IPs and successes are not affected', async () => {
    const { key } = await issueApiKey({ kind: 'operator', accountId: null });
    // Sign-ins that succeed do not count, however many.
    for (let i = 0; i < 5; i++) expect((await signInFrom('198.51.100.20', key)).status).toBe(201);

    const attacker = '198.51.100.21';
    for (let i = 0; i < 3; i++) expect((await signInFrom(attacker, `ct_ope_guess${i}`)).status).toBe(401);
    const blocked = await signInFrom(attacker, key);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    expect(blocked.body).toMatchObject({ error: expect.stringMatching(/too many failed sign-ins from this IP/), fields: [] });
    expect(blocked.cookie).toBeNull();

    expect((await signInFrom('198.51.100.20', key)).status).toBe(201);
  });
});

describe('click cookies only on real navigations (M4)', () => {
  const clickWith = async (headers: Record<string, string>) => {
    const res = await exactGet(clickUrl(app.httpUrl!, f), headers);
    expect(res.status).toBe(302);
    const sessionId = new URL(res.headers.get('location')!).searchParams.get('cid')!;
    const stored = await sessions().findOne({ _id: sessionId });
    return { cookies: res.headers.getSetCookie(), session: stored! };
  };

  test('an <img> click is stored, redirected and flagged, and sets no cookie', async () => {
    const { cookies, session } = await clickWith({ 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image', 'sec-fetch-site': 'cross-site' });
    expect(cookies).toEqual([]);
    expect(session.nonNavigation).toBe(true);
    const op = await clientFor(app, 'operator');
    const viewed = await op.get(`/sessions/${session._id}`);
    expect(viewed.body.nonNavigation).toBe(true);
  });

  test('an <iframe> (a navigation, but not of a document) sets no cookie either', async () => {
    const { cookies, session } = await clickWith({ 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' });
    expect(cookies).toEqual([]);
    expect(session.nonNavigation).toBe(true);
  });

  test('a top-level navigation, and a client that sends no Fetch Metadata, get the cookies as before', async () => {
    const clients: Record<string, string>[] = [{ 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-fetch-site': 'cross-site' }, {}];
    for (const headers of clients) {
      const { cookies, session } = await clickWith(headers);
      expect(cookies.map((c) => c.split('=')[0]).sort()).toEqual([`ct_c_${f.campaignId}`, 'ct_sid']);
      expect(session.nonNavigation).toBeUndefined();
    }
  });
});

describe('demo routes and headers', () => {
  test('/demo answers 404 unless DEMO_ROUTES is on', async () => {
    for (const path of ['/demo/landing', `/demo/thanks?campaign=${f.campaignId}`, '/demo/sink/x?a=1']) {
      expect((await get(app.url(path))).status).toBe(404);
    }
    // The same app with the demo on (one app per process: mongoose is a singleton).
    const demo = createHttpApp({
      ...app,
      geo: await GeoLookup.open(undefined),
      duplicates: new DuplicateClicks(1000),
      secureCookies: false,
      publisherData: { maxParams: 30, maxLength: 256 },
      lazyBotsAndDuplicates: false,
      trustedProxies: [],
      demoRoutes: true,
      readiness: readiness({ timeoutMs: 1000, temporalPing: (ms) => app.temporal.ping(ms), metrics: app.metrics }),
    }).listen(0, '127.0.0.1');
    await once(demo, 'listening');
    const base = `http://127.0.0.1:${(demo.address() as AddressInfo).port}`;
    try {
      expect((await get(`${base}/demo/landing?click_id=x`)).status).toBe(200);
      expect((await get(`${base}/demo/sink/publisher?a=1`)).status).toBe(200);
    } finally {
      demo.close();
    }
  });

  test('every answer carries X-Content-Type-Options: nosniff, the 404 echoing a path included', async () => {
    const answers = [
      await get(app.url(`/c/${encodeURIComponent('<script>alert(1)</script>')}?pub=${f.publisherId}`)),
      await get(app.url('/healthz')),
      await get(app.url('/px.gif')),
      await get(app.url('/api/v1/openapi.json')),
      await get(app.url(`/no-such-${testId('path')}`)),
    ];
    for (const res of answers) expect([res.url, res.headers.get('x-content-type-options')]).toEqual([res.url, 'nosniff']);
  });
});
