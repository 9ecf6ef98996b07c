import { startTestApp, testId, type TestApp } from '../support/harness';
import { apiClient, clientFor, type ApiClient } from '../support/api-client';

// Who may see and change what: operator keys everything, an advertiser key its own advertiser's
// records, a publisher key its own. Another account's record answers 404 exactly like a missing one.

let app: TestApp;
let op: ApiClient;
const ids = {
  advA: testId('advA'),
  advB: testId('advB'),
  cmpA: testId('cmpA'),
  cmpB: testId('cmpB'),
  cmpOnlyP2: testId('cmpP2'),
  pubP1: testId('pubP1'),
  pubP2: testId('pubP2'),
  supP1: testId('supP1'),
  supP2: testId('supP2'),
  assetB: testId('assetB'),
};

const campaign = (id: string, advertiserId: string, extra: object = {}) => ({
  id,
  advertiserId,
  name: `Campaign ${id}`,
  landingUrl: 'https://shop.example/landing?cid={click_id}',
  events: [{ name: 'sale', payout: { kind: 'fixed', value: 500 }, revenue: { kind: 'fixed', value: 800 }, currency: 'EUR' }],
  ...extra,
});

beforeAll(async () => {
  app = await startTestApp();
  op = await clientFor(app, 'operator');
  const created = [
    await op.post('/advertisers', { id: ids.advA, name: 'A' }),
    await op.post('/advertisers', { id: ids.advB, name: 'B' }),
    await op.post('/publishers', { id: ids.pubP1, name: 'P1' }),
    await op.post('/publishers', { id: ids.pubP2, name: 'P2' }),
    await op.post('/campaigns', campaign(ids.cmpA, ids.advA)),
    await op.post('/campaigns', campaign(ids.cmpB, ids.advB)),
    await op.post('/campaigns', campaign(ids.cmpOnlyP2, ids.advA, { publisherAccess: 'allowlist', allowedPublisherIds: [ids.pubP2] })),
    await op.post('/assets', { id: ids.assetB, campaignId: ids.cmpB, name: 'B banner' }),
    await op.post('/supports', { id: ids.supP1, publisherId: ids.pubP1, name: 'P1 site' }),
    await op.post('/supports', { id: ids.supP2, publisherId: ids.pubP2, name: 'P2 site' }),
  ];
  for (const r of created) expect([r.status, r.body]).toEqual([201, expect.anything()]);
});
afterAll(async () => {
  await app?.stop();
});

describe('authentication', () => {
  test('no key, a malformed header and an unknown key all answer 401', async () => {
    for (const client of [apiClient(app, null), apiClient(app, 'ct_ope_not-a-real-key')]) {
      const res = await client.get('/campaigns');
      expect(res.status).toBe(401);
      expect(res.body.error).toMatch(/API key/);
    }
    const res = await fetch(app.url('/api/v1/campaigns'), { headers: { authorization: 'Basic abc' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  test('a key issued through the API works until it is revoked, then answers 401', async () => {
    const issued = await op.post('/api-keys', { kind: 'advertiser', accountId: ids.advA, name: 'ci' });
    expect(issued.status).toBe(201);
    expect(issued.body.key).toMatch(/^ct_adv_/);
    expect(issued.body).not.toHaveProperty('hash');
    const adv = apiClient(app, issued.body.key);
    expect((await adv.get(`/campaigns/${ids.cmpA}`)).status).toBe(200);

    const listed = await op.get('/api-keys?kind=advertiser');
    expect(listed.body.data.map((k: { id: string }) => k.id)).toContain(issued.body.id);
    expect(JSON.stringify(listed.body)).not.toContain(issued.body.key);

    expect((await op.post(`/api-keys/${issued.body.id}/revoke`)).body.revokedAt).toEqual(expect.any(String));
    const after = await adv.get(`/campaigns/${ids.cmpA}`);
    expect(after.status).toBe(401);
  });

  test('keys for accounts that do not exist are refused, naming the field', async () => {
    const res = await op.post('/api-keys', { kind: 'publisher', accountId: 'no-such-publisher' });
    expect(res.status).toBe(422);
    expect(res.body.fields).toEqual([{ path: 'accountId', message: expect.stringContaining('no-such-publisher') }]);
    expect((await op.post('/api-keys', { kind: 'advertiser' })).body.fields[0].path).toBe('accountId');
  });

  test('only operators manage keys', async () => {
    const adv = await clientFor(app, 'advertiser', ids.advA);
    expect((await adv.post('/api-keys', { kind: 'operator' })).status).toBe(403);
    expect((await adv.get('/api-keys')).status).toBe(403);
  });
});

describe('advertiser key', () => {
  let adv: ApiClient;
  beforeAll(async () => {
    adv = await clientFor(app, 'advertiser', ids.advA);
  });

  test('lists and reads only its own advertiser and campaigns', async () => {
    const campaigns = await adv.get('/campaigns');
    expect(campaigns.status).toBe(200);
    expect(campaigns.body.data.map((c: { id: string }) => c.id).sort()).toEqual([ids.cmpA, ids.cmpOnlyP2].sort());
    expect((await adv.get(`/campaigns/${ids.cmpA}`)).body.events[0].revenue).toEqual({ kind: 'fixed', value: 800 });
    expect((await adv.get('/advertisers')).body.data.map((a: { id: string }) => a.id)).toEqual([ids.advA]);
    expect((await adv.get(`/advertisers/${ids.advA}`)).body.postbackToken).toEqual(expect.any(String));
  });

  test("another advertiser's records answer 404 for read, change and archive, and stay unchanged", async () => {
    const missing = await adv.get('/campaigns/no-such-campaign');
    for (const res of [
      await adv.get(`/campaigns/${ids.cmpB}`),
      await adv.patch(`/campaigns/${ids.cmpB}`, { name: 'hijacked' }),
      await adv.post(`/campaigns/${ids.cmpB}/archive`),
      await adv.get(`/advertisers/${ids.advB}`),
      await adv.patch(`/advertisers/${ids.advB}`, { ipAllowlist: ['10.0.0.1'] }),
      await adv.post(`/advertisers/${ids.advB}/rotate-token`),
      await adv.get(`/assets/${ids.assetB}`),
      await adv.patch(`/assets/${ids.assetB}`, { name: 'hijacked' }),
    ]) {
      expect(res.status).toBe(404);
      expect(Object.keys(res.body)).toEqual(Object.keys(missing.body));
    }
    const b = await op.get(`/campaigns/${ids.cmpB}`);
    expect(b.body).toMatchObject({ name: `Campaign ${ids.cmpB}`, status: 'active' });
    expect((await op.get(`/assets/${ids.assetB}`)).body.name).toBe('B banner');
    expect((await op.get(`/advertisers/${ids.advB}`)).body.ipAllowlist).toEqual([]);
  });

  test("cannot create records under another advertiser's account", async () => {
    expect((await adv.post('/campaigns', campaign(testId('x'), ids.advB))).status).toBe(403);
    const asset = await adv.post('/assets', { campaignId: ids.cmpB, name: 'sneaky' });
    expect(asset.status).toBe(422);
    expect(asset.body.fields[0].path).toBe('campaignId');
    expect((await op.get(`/assets?campaign=${ids.cmpB}`)).body.data).toHaveLength(1);
  });

  test('creates and changes its own campaigns; the advertiser id defaults to its own', async () => {
    // Money is the operator's to set (conversion-authority.test.ts): the advertiser's events carry none.
    const { advertiserId: _ignored, ...body } = campaign(testId('own'), ids.advA, { events: [{ name: 'sale', currency: 'EUR' }] });
    const created = await adv.post('/campaigns', body);
    expect(created.status).toBe(201);
    expect(created.body.advertiserId).toBe(ids.advA);
    const patched = await adv.patch(`/campaigns/${created.body.id}`, { status: 'paused' });
    expect(patched.body.status).toBe('paused');
    const allow = await adv.patch(`/advertisers/${ids.advA}`, { ipAllowlist: ['203.0.113.0/24'] });
    expect(allow.body.ipAllowlist).toEqual(['203.0.113.0/24']);
    expect((await adv.patch(`/advertisers/${ids.advA}`, { status: 'archived' })).status).toBe(403);
  });

  test('rotating its token changes it', async () => {
    const before = (await adv.get(`/advertisers/${ids.advA}`)).body.postbackToken;
    const rotated = await adv.post(`/advertisers/${ids.advA}/rotate-token`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.postbackToken).not.toBe(before);
    expect((await adv.get(`/advertisers/${ids.advA}`)).body.postbackToken).toBe(rotated.body.postbackToken);
  });

  test('has no access to publishers, supports or providers', async () => {
    for (const path of ['/publishers', `/publishers/${ids.pubP1}`, '/supports', '/providers']) {
      expect([path, (await adv.get(path)).status]).toEqual([path, 403]);
    }
  });
});

describe('publisher key', () => {
  let pub: ApiClient;
  beforeAll(async () => {
    pub = await clientFor(app, 'publisher', ids.pubP1);
  });

  test('sees the campaigns it may run, without revenue or the allowlist', async () => {
    const list = await pub.get('/campaigns');
    const seen = list.body.data.map((c: { id: string }) => c.id);
    expect(seen).toEqual(expect.arrayContaining([ids.cmpA, ids.cmpB]));
    expect(seen).not.toContain(ids.cmpOnlyP2);
    expect((await pub.get(`/campaigns/${ids.cmpOnlyP2}`)).status).toBe(404);
    const one = await pub.get(`/campaigns/${ids.cmpA}`);
    expect(one.body.events[0]).toEqual({ name: 'sale', payout: { kind: 'fixed', value: 500 }, currency: 'EUR', repeatable: false, maxAmountMinor: null });
    expect(one.body).not.toHaveProperty('allowedPublisherIds');
    expect((await pub.patch(`/campaigns/${ids.cmpA}`, { name: 'x' })).status).toBe(403);
    const p2 = await clientFor(app, 'publisher', ids.pubP2);
    expect((await p2.get(`/campaigns/${ids.cmpOnlyP2}`)).status).toBe(200);
  });

  test("another publisher's records answer 404 and stay unchanged", async () => {
    for (const res of [
      await pub.get(`/publishers/${ids.pubP2}`),
      await pub.patch(`/publishers/${ids.pubP2}`, { postbackUrl: 'https://evil.example/pb?c={click_id}' }),
      await pub.get(`/supports/${ids.supP2}`),
      await pub.patch(`/supports/${ids.supP2}`, { name: 'hijacked' }),
      await pub.post(`/supports/${ids.supP2}/archive`),
    ]) {
      expect(res.status).toBe(404);
    }
    expect((await op.get(`/publishers/${ids.pubP2}`)).body.postbackUrl).toBeNull();
    expect((await op.get(`/supports/${ids.supP2}`)).body).toMatchObject({ name: 'P2 site', status: 'active' });
    expect((await pub.post('/supports', { publisherId: ids.pubP2, name: 'sneaky' })).status).toBe(403);
  });

  test('manages its own postback URLs and supports', async () => {
    const patched = await pub.patch(`/publishers/${ids.pubP1}`, { postbackUrl: 'https://p1.example/pb?c={click_id}&p={payout}' });
    expect(patched.status).toBe(200);
    expect(patched.body.postbackUrl).toBe('https://p1.example/pb?c={click_id}&p={payout}');
    expect((await pub.patch(`/publishers/${ids.pubP1}`, { providerId: null })).status).toBe(403);
    const sup = await pub.post('/supports', { name: 'newsletter', kind: 'newsletter' });
    expect(sup.status).toBe(201);
    expect(sup.body.publisherId).toBe(ids.pubP1);
    const mine = await pub.get('/supports');
    expect(mine.body.data.map((s: { publisherId: string }) => s.publisherId)).toEqual([ids.pubP1, ids.pubP1]);
    expect((await pub.get('/publishers')).body.data.map((p: { id: string }) => p.id)).toEqual([ids.pubP1]);
  });

  test('has no access to advertisers or providers', async () => {
    for (const path of ['/advertisers', `/advertisers/${ids.advA}`, '/providers']) {
      expect([path, (await pub.get(path)).status]).toEqual([path, 403]);
    }
  });
});
