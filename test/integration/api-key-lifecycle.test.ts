import { ApiKey } from '../../src/persistence/models/api-key';
import { apiClient, clientFor, type ApiClient } from '../support/api-client';
import type { Fixture } from '../support/fixtures';
import { eventually, stopAll, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startWithFixture } from '../support/app-with-sink';
import { click } from '../support/tracking-client';

// API keys (audit L4): keys of archived accounts stop working, keys may expire, last use is
// tracked. Visitor IPs (audit L7): advertisers and publishers see them truncated, operators whole.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
let op: ApiClient;
beforeAll(async () => {
  ({ app, sink, f } = await startWithFixture({ TRUSTED_PROXIES: 'loopback' }));
  op = await clientFor(app, 'operator');
});
afterAll(() => stopAll(app, sink));

describe('key lifecycle', () => {
  test("an archived publisher's and an archived advertiser's keys answer 401 with a clear message", async () => {
    const pubId = `${f.publisherId}-arch`;
    const advId = `${f.advertiserId}-arch`;
    expect((await op.post('/publishers', { id: pubId, name: 'to archive' })).status).toBe(201);
    expect((await op.post('/advertisers', { id: advId, name: 'to archive' })).status).toBe(201);
    const pub = await clientFor(app, 'publisher', pubId);
    const adv = await clientFor(app, 'advertiser', advId);
    expect((await pub.get('/sessions')).status).toBe(200);
    expect((await adv.get('/sessions')).status).toBe(200);

    expect((await op.post(`/publishers/${pubId}/archive`)).status).toBe(200);
    expect((await op.post(`/advertisers/${advId}/archive`)).status).toBe(200);
    const pubAfter = await pub.get('/sessions');
    expect(pubAfter.status).toBe(401);
    expect(pubAfter.body.error).toBe(`the publisher account "${pubId}" of this API key is archived`);
    const advAfter = await adv.patch(`/advertisers/${advId}`, { name: 'still here?' });
    expect(advAfter.status).toBe(401);
    expect(advAfter.body.error).toMatch(/advertiser account .* is archived/);
  });

  test('a key with an expiry works until then and answers 401 after', async () => {
    const soon = new Date(Date.now() + 1500).toISOString();
    const issued = await op.post('/api-keys', { kind: 'publisher', accountId: f.publisherId, expiresAt: soon });
    expect(issued.status).toBe(201);
    expect(issued.body.expiresAt).toBe(soon);
    const pub = apiClient(app, issued.body.key);
    expect((await pub.get('/sessions')).status).toBe(200);
    const expired = await eventually(async () => {
      const res = await pub.get('/sessions');
      return res.status === 401 ? res : null;
    }, 10_000, 'the key to expire');
    expect(expired.body.error).toBe(`API key expired at ${soon}`);
  });

  test('an expiry in the past or not a date is refused at creation', async () => {
    const past = await op.post('/api-keys', { kind: 'operator', expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(422);
    expect(past.body.fields).toEqual([{ path: 'expiresAt', message: 'must be in the future' }]);
    const garbage = await op.post('/api-keys', { kind: 'operator', expiresAt: 'tomorrow' });
    expect(garbage.status).toBe(400);
    expect(garbage.body.fields[0].path).toBe('expiresAt');
  });

  test('lastUsedAt is set by the first use, and not rewritten on every request', async () => {
    const issued = await op.post('/api-keys', { kind: 'advertiser', accountId: f.advertiserId });
    expect(issued.body.lastUsedAt).toBeNull();
    const adv = apiClient(app, issued.body.key);
    expect((await adv.get('/campaigns')).status).toBe(200);
    const first = await eventually(async () => (await ApiKey.findById(issued.body.id).lean())?.lastUsedAt, 10_000, 'lastUsedAt');
    expect((await adv.get('/campaigns')).status).toBe(200);
    const viewed = await op.get(`/api-keys/${issued.body.id}`);
    expect(viewed.body.lastUsedAt).toBe(first.toISOString());
  });
});

describe('visitor IP by key kind', () => {
  test('advertiser and publisher keys see IPv4 /24 and IPv6 /48; the operator sees the whole address', async () => {
    const v4 = await click(app.httpUrl!, f, '', { 'x-forwarded-for': '203.0.113.77' });
    const v6 = await click(app.httpUrl!, f, '', { 'x-forwarded-for': '2001:db8:abcd:12:34::9' });
    const mapped = await click(app.httpUrl!, f, '', { 'x-forwarded-for': '::ffff:198.51.100.200' });
    const adv = await clientFor(app, 'advertiser', f.advertiserId);
    const pub = await clientFor(app, 'publisher', f.publisherId);

    for (const tenant of [adv, pub]) {
      expect((await tenant.get(`/sessions/${v4.sessionId}`)).body.ip).toBe('203.0.113.0');
      expect((await tenant.get(`/sessions/${v6.sessionId}`)).body.ip).toBe('2001:db8:abcd::');
      expect((await tenant.get(`/sessions/${mapped.sessionId}`)).body.ip).toBe('198.51.100.0');
      const listed = await tenant.get(`/sessions?campaign=${f.campaignId}&limit=200`);
      const ips = Object.fromEntries(listed.body.data.map((s: { id: string; ip: string }) => [s.id, s.ip]));
      expect([ips[v4.sessionId], ips[v6.sessionId]]).toEqual(['203.0.113.0', '2001:db8:abcd::']);
    }
    expect((await op.get(`/sessions/${v4.sessionId}`)).body.ip).toBe('203.0.113.77');
    expect((await op.get(`/sessions/${v6.sessionId}`)).body.ip).toBe('2001:db8:abcd:12:34::9');
  });
});
