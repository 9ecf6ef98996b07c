import { idTime } from '../../src/persistence/session-ids';
import { Campaign } from '../../src/persistence/models/campaign';
import { Session } from '../../src/persistence/models/session';
import { clickUrl, createFixture, type Fixture } from '../support/fixtures';
import { HttpSink } from '../support/http-sink';
import { startedSession } from '../support/handed-over';
import { eventually, get, navigate, startTestApp, type TestApp } from '../support/harness';

const CHROME_ANDROID =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
beforeAll(async () => {
  sink = await new HttpSink().start();
  // Loopback is a trusted proxy here, so X-Forwarded-For picks the visitor's address.
  app = await startTestApp({ TRUSTED_PROXIES: 'loopback' });
  f = await createFixture({ sinkUrl: sink.url, fallbackUrl: 'https://fallback.example/?c={campaign_id}&s1={sub1}' });
});
afterAll(async () => {
  await app?.stop();
  await sink?.stop();
});

test('a click is enriched, stored, started as a workflow and redirected with macros filled', async () => {
  const res = await navigate(clickUrl(app.httpUrl!, f, '&sub1=a%20b%26c&utm_source=news&foo.bar=1'), {
    'User-Agent': CHROME_ANDROID,
    Referer: 'https://blog.example/post',
    'X-Forwarded-For': '8.8.8.8',
  });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location')!);
  expect(location.origin).toBe('https://shop.example');
  const sessionId = location.searchParams.get('cid')!;
  expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
  expect(Object.fromEntries(location.searchParams)).toEqual({
    cid: sessionId,
    pub: f.publisherId,
    s1: 'a b&c',
    c: 'US',
    d: 'mobile',
    x: '',
  });
  expect(res.headers.get('cache-control')).toBe('no-store');
  const cookies = res.headers.getSetCookie();
  expect(cookies).toEqual(
    expect.arrayContaining([
      expect.stringMatching(new RegExp(`^ct_sid=${sessionId}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax$`)),
      expect.stringMatching(new RegExp(`^ct_c_${f.campaignId}=${sessionId};`)),
    ]),
  );

  const doc = await Session.findById(sessionId).lean().orFail();
  expect(doc).toMatchObject({
    advertiserId: f.advertiserId,
    campaignId: f.campaignId,
    assetId: f.assetId,
    publisherId: f.publisherId,
    supportId: f.supportId,
    ip: '8.8.8.8',
    country: 'US',
    device: { type: 'mobile', os: 'Android', browser: 'Chrome', vendor: 'Google', model: 'Pixel 8' },
    referrer: 'https://blog.example/post',
    publisherData: { sub1: 'a b&c', utm_source: 'news', foo_bar: '1' },
    providers: { campaign: f.campaignProviderId, publisher: f.publisherProviderId, business: f.businessProviderId },
    bot: false,
    duplicate: false,
    status: 'open',
  });
  expect(doc.expiresAt.getTime() - doc.createdAt.getTime()).toBe(3600 * 1000);
  // One clock reading for the id and createdAt: time ranges of sessions are read as id ranges.
  expect(idTime(sessionId)).toBe(doc.createdAt.getTime());

  const view = await eventually(() => app.temporal.querySession(sessionId), 20_000, 'the session workflow');
  expect(view.status).toBe('open');
  const described = await app.temporal.client.workflow.getHandle(sessionId).describe();
  expect(described.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
    expect.arrayContaining([
      ['CampaignId', f.campaignId],
      ['PublisherId', f.publisherId],
      ['AdvertiserId', f.advertiserId],
      ['SessionStatus', 'open'],
      ['Country', 'US'],
      ['DeviceType', 'mobile'],
    ]),
  );
  await eventually(() => startedSession(sessionId), 20_000, 'the session handed over');
});

test('bots are flagged, duplicates are flagged, and both are still redirected and stored', async () => {
  const bot = await get(clickUrl(app.httpUrl!, f), { 'User-Agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)', 'X-Forwarded-For': '66.249.66.1' });
  expect(bot.status).toBe(302);
  const botId = new URL(bot.headers.get('location')!).searchParams.get('cid')!;
  expect(await Session.findById(botId).lean()).toMatchObject({ bot: true, device: { type: 'bot' } });

  const headers = { 'User-Agent': CHROME_ANDROID, 'X-Forwarded-For': '1.1.1.1' };
  const first = await get(clickUrl(app.httpUrl!, f), headers);
  const second = await get(clickUrl(app.httpUrl!, f), headers);
  const [a, b] = [first, second].map((r) => new URL(r.headers.get('location')!).searchParams.get('cid')!);
  expect(a).not.toBe(b);
  expect((await Session.findById(a).lean())?.duplicate).toBe(false);
  expect((await Session.findById(b).lean())?.duplicate).toBe(true);
});

test('publisher data is bounded in count and length', async () => {
  const many = Array.from({ length: 50 }, (_, i) => `&k${i}=${'v'.repeat(300)}`).join('');
  const res = await get(clickUrl(app.httpUrl!, f, many));
  expect(res.status).toBe(302);
  const id = new URL(res.headers.get('location')!).searchParams.get('cid')!;
  const doc = await Session.findById(id).lean().orFail();
  const entries = Object.entries(doc.publisherData);
  expect(entries).toHaveLength(30);
  expect(Math.max(...entries.map(([, v]) => v.length))).toBe(256);
});

test('an unknown asset or a support of another publisher is not attributed', async () => {
  const res = await get(`${app.httpUrl}/c/${f.campaignId}?pub=${f.otherPublisherId}&asset=nope&sup=${f.supportId}`);
  expect(res.status).toBe(302);
  const id = new URL(res.headers.get('location')!).searchParams.get('cid')!;
  expect(await Session.findById(id).lean()).toMatchObject({ publisherId: f.otherPublisherId, assetId: null, supportId: null });
});

describe('refusals', () => {
  test('unknown or malformed campaign: 404, nothing stored', async () => {
    const before = await Session.countDocuments();
    for (const path of ['/c/does-not-exist?pub=x', '/c/%24where?pub=x', `/c/${'a'.repeat(65)}?pub=x`]) {
      const res = await get(`${app.httpUrl}${path}`);
      expect(res.status).toBe(404);
      expect(await res.text()).toMatch(/unknown campaign/);
    }
    expect(await Session.countDocuments()).toBe(before);
  });

  test('paused campaign, unknown or disallowed publisher, missing pub: fallback URL with macros', async () => {
    const paused = await createFixture({ sinkUrl: sink.url, status: 'paused', fallbackUrl: 'https://fallback.example/?c={campaign_id}&s1={sub1}' });
    const res = await get(`${app.httpUrl}/c/${paused.campaignId}?pub=${paused.publisherId}&sub1=x%2Fy`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`https://fallback.example/?c=${paused.campaignId}&s1=x%2Fy`);

    const allow = await createFixture({ sinkUrl: sink.url, publisherAccess: 'allowlist', fallbackUrl: 'https://fallback.example/a' });
    const other = await get(`${app.httpUrl}/c/${allow.campaignId}?pub=${allow.otherPublisherId}`);
    expect(other.status).toBe(302);
    expect(other.headers.get('location')).toBe('https://fallback.example/a');
    const allowed = await get(`${app.httpUrl}/c/${allow.campaignId}?pub=${allow.publisherId}`);
    expect(new URL(allowed.headers.get('location')!).origin).toBe('https://shop.example');

    for (const q of ['', '?pub=', '?pub=no-such-publisher']) {
      const r = await get(`${app.httpUrl}/c/${allow.campaignId}${q}`);
      expect(r.status).toBe(302);
      expect(r.headers.get('location')).toBe('https://fallback.example/a');
    }
  });

  test('without a fallback URL: 404 for paused or disallowed, 400 for a missing pub', async () => {
    const paused = await createFixture({ sinkUrl: sink.url, status: 'paused' });
    const r1 = await get(`${app.httpUrl}/c/${paused.campaignId}?pub=${paused.publisherId}`);
    expect(r1.status).toBe(404);
    expect(await r1.text()).toMatch(/paused/);

    const allow = await createFixture({ sinkUrl: sink.url, publisherAccess: 'allowlist' });
    const r2 = await get(`${app.httpUrl}/c/${allow.campaignId}?pub=${allow.otherPublisherId}`);
    expect(r2.status).toBe(404);
    expect(await r2.text()).toMatch(/not allowed/);

    const r3 = await get(`${app.httpUrl}/c/${allow.campaignId}`);
    expect(r3.status).toBe(400);
    expect(await r3.text()).toMatch(/pub/);
  });

  test('targeting: a visitor from another country goes to the fallback', async () => {
    const t = await createFixture({ sinkUrl: sink.url, fallbackUrl: 'https://fallback.example/geo' });
    await Campaign.updateOne({ _id: t.campaignId }, { $set: { 'targeting.countries': ['FR'] } });
    const us = await get(clickUrl(app.httpUrl!, t), { 'X-Forwarded-For': '8.8.8.8' });
    expect(us.headers.get('location')).toBe('https://fallback.example/geo');
  });

  test('a configuration change is seen within seconds (cached campaign)', async () => {
    const c = await createFixture({ sinkUrl: sink.url, fallbackUrl: 'https://fallback.example/later' });
    expect(new URL((await get(clickUrl(app.httpUrl!, c))).headers.get('location')!).origin).toBe('https://shop.example');
    await Campaign.updateOne({ _id: c.campaignId }, { $set: { status: 'paused' } });
    await eventually(async () => (await get(clickUrl(app.httpUrl!, c))).headers.get('location') === 'https://fallback.example/later', 10_000, 'the pause to be seen');
  });
});

test('a landing URL can never be pointed elsewhere by link parameters', async () => {
  const c = await createFixture({ sinkUrl: sink.url, landingUrl: 'https://shop.example/{sub1}?x={sub2}' });
  const res = await get(clickUrl(app.httpUrl!, c, '&sub1=%2F%2Fevil.example&sub2=https%3A%2F%2Fevil.example'));
  expect(res.status).toBe(302);
  const loc = new URL(res.headers.get('location')!);
  expect(loc.host).toBe('shop.example');
});
