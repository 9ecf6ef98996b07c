import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { issueApiKey } from '../../src/persistence/models/api-key';
import { apiClient, clientFor, type ApiClient } from '../support/api-client';
import { startTestApp, testId, type TestApp } from '../support/harness';

// Create, read, change, list and archive through the API, as an operator: ids, conflicts,
// validation errors that name the field, and pagination that neither repeats nor skips.

let app: TestApp;
let op: ApiClient;
const advertiserId = testId('adv');

beforeAll(async () => {
  app = await startTestApp();
  op = await clientFor(app, 'operator');
  expect((await op.post('/advertisers', { id: advertiserId, name: 'Advertiser' })).status).toBe(201);
});
afterAll(async () => {
  await app?.stop();
});

const validCampaign = () => ({
  advertiserId,
  name: 'Spring sale',
  landingUrl: 'https://shop.example/l?cid={click_id}&s={sub1}',
  events: [
    { name: 'registration', payout: { kind: 'fixed', value: 250 }, currency: 'EUR' },
    { name: 'sale', payout: { kind: 'percent', value: 1000 }, revenue: { kind: 'percent', value: 1500 }, currency: 'EUR', repeatable: true },
  ],
});

test('create with a generated id, read, change, archive', async () => {
  const created = await op.post('/campaigns', validCampaign());
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ id: expect.stringMatching(/^cmp_[0-9a-f]{12}$/), status: 'active', attributionWindowSec: 30 * 86400, publisherAccess: 'all' });
  const id = created.body.id;
  expect((await op.get(`/campaigns/${id}`)).body.events[1]).toEqual({ name: 'sale', payout: { kind: 'percent', value: 1000 }, revenue: { kind: 'percent', value: 1500 }, currency: 'EUR', repeatable: true, maxAmountMinor: null });

  const patched = await op.patch(`/campaigns/${id}`, { name: 'Summer sale', targeting: { countries: ['FR', 'BE'] }, fallbackUrl: 'https://shop.example/sorry' });
  expect(patched.status).toBe(200);
  expect(patched.body).toMatchObject({ name: 'Summer sale', targeting: { countries: ['FR', 'BE'], deviceTypes: [] }, fallbackUrl: 'https://shop.example/sorry', landingUrl: validCampaign().landingUrl });

  const archived = await op.post(`/campaigns/${id}/archive`);
  expect(archived.body.status).toBe('archived');
  expect((await op.get(`/campaigns/${id}`)).body.status).toBe('archived');
  expect((await op.get(`/campaigns?status=archived&advertiser=${advertiserId}`)).body.data.map((c: { id: string }) => c.id)).toEqual([id]);
});

test('a client-chosen id is kept; the same id twice is a 409; unknown ids are 404', async () => {
  const id = testId('pub');
  expect((await op.post('/publishers', { id, name: 'P' })).body.id).toBe(id);
  const again = await op.post('/publishers', { id, name: 'P again' });
  expect(again.status).toBe(409);
  expect(again.body.error).toMatch(/already exists/);
  expect((await op.get(`/publishers/${id}`)).body.name).toBe('P');
  for (const p of ['/publishers/nope', '/campaigns/nope', '/assets/nope', '/supports/nope', '/providers/nope', '/advertisers/nope', '/sessions/nope', '/conversions/nope', '/api-keys/nope']) {
    expect([p, (await op.get(p)).status]).toEqual([p, 404]);
  }
  expect((await op.patch('/publishers/nope', { name: 'x' })).status).toBe(404);
  expect((await op.post('/publishers/nope/archive')).status).toBe(404);
  // Archiving is an action, not DELETE (the record stays readable): DELETE is not a method of the path.
  const del = await op.del(`/publishers/${id}`);
  expect([del.status, del.headers.get('allow')]).toEqual([405, 'GET, HEAD, PATCH']);
});

describe('validation errors name the field', () => {
  const cases: [string, () => Promise<{ status: number; body: { fields: { path: string; message: string }[] } }>, string, RegExp, number?][] = [
    ['a bad currency', () => op.post('/campaigns', { ...validCampaign(), events: [{ name: 'sale', currency: 'EURO' }] }), 'events.0.currency', /ISO 4217/],
    ['a macro in the host', () => op.post('/campaigns', { ...validCampaign(), landingUrl: 'https://{sub1}.shop.example/l' }), 'landingUrl', /host/],
    ['a non-http landing URL', () => op.post('/campaigns', { ...validCampaign(), landingUrl: 'ftp://shop.example/' }), 'landingUrl', /http/],
    ['a misspelt macro', () => op.post('/campaigns', { ...validCampaign(), landingUrl: 'https://shop.example/?c={clickid}' }), 'landingUrl', /unknown macro/],
    ['a duplicate event', () => op.post('/campaigns', { ...validCampaign(), events: [{ name: 'a', currency: 'EUR' }, { name: 'a', currency: 'EUR' }] }), 'events.1.name', /twice/, 422],
    ['a float payout', () => op.post('/campaigns', { ...validCampaign(), events: [{ name: 'a', currency: 'EUR', payout: { kind: 'fixed', value: 2.5 } }] }), 'events.0.payout.value', /integer|int/],
    ['an unknown advertiser', () => op.post('/campaigns', { ...validCampaign(), advertiserId: 'ghost' }), 'advertiserId', /ghost/, 422],
    ['an unknown field', () => op.post('/campaigns', { ...validCampaign(), colour: 'red' }), 'colour', /unknown field/],
    ['a bad id', () => op.post('/publishers', { id: 'has space', name: 'x' }), 'id', /letters/],
    ['a missing name', () => op.post('/publishers', {}), 'name', /./],
    ['a postback URL with a host macro', () => op.post('/publishers', { name: 'x', postbackUrl: 'https://{p.host}/pb' }), 'postbackUrl', /host/],
    ['a bad IP allowlist entry', () => op.post('/advertisers', { name: 'x', ipAllowlist: ['10.0.0.300'] }), 'ipAllowlist.0', /IP/],
    ['a provider of the wrong kind', () => op.post('/publishers', { name: 'x', providerId: 'ghost' }), 'providerId', /ghost/, 422],
    ['a bad page size', () => op.get('/campaigns?limit=1000'), 'limit', /200/],
    ['a bad status filter', () => op.get('/campaigns?status=deleted'), 'status', /./],
    ['a forged cursor', () => op.get('/campaigns?cursor=***'), 'cursor', /next_cursor/],
  ];
  test.each(cases)('%s', async (_what, call, field, message, status = 400) => {
    const res = await call();
    expect(res.status).toBe(status);
    const f = res.body.fields.find((x) => x.path === field);
    expect(f).toBeDefined();
    expect(f!.message).toMatch(message);
  });

  test('a body that is not JSON is a 400, not a 500', async () => {
    const res = await fetch(app.url('/api/v1/publishers'), { method: 'POST', headers: { authorization: `Bearer ${await keyFor()}`, 'content-type': 'application/json' }, body: '{"name":' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'the body is not valid JSON', fields: [], request_id: res.headers.get('x-request-id') });
  });
});

test('pages are stable: every record once, in id order, while records are added mid-way', async () => {
  const prefix = testId('pg');
  const ids = Array.from({ length: 7 }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) expect((await op.post('/providers', { id, name: id, kind: 'publisher' })).status).toBe(201);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: { body: { data: { id: string }[]; next_cursor: string | null } } = await op.get(`/providers?kind=publisher&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    seen.push(...res.body.data.map((p) => p.id).filter((id) => id.startsWith(prefix)));
    cursor = res.body.next_cursor;
    if (pages++ === 0) {
      // One record before the cursor (never shown now) and one after it (shown once).
      await op.post('/providers', { id: `${prefix}-0a`, name: 'late', kind: 'publisher' });
      await op.post('/providers', { id: `${prefix}-9`, name: 'late', kind: 'publisher' });
    }
  } while (cursor);
  expect(pages).toBe(3);
  expect(seen).toEqual([...ids, `${prefix}-9`]);
});

test('the CLI issues a working operator key and prints it once', async () => {
  const run = promisify(execFile);
  const root = path.resolve(__dirname, '..', '..');
  const { stdout, stderr } = await run(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'src/cli/create-api-key.ts'), '--kind', 'operator', '--name', 'first'], {
    env: { ...process.env, MONGODB_URI: app.config.MONGODB_URI },
  });
  const key = stdout.trim();
  expect(key).toMatch(/^ct_ope_[A-Za-z0-9_-]{43}$/);
  expect(stderr).toMatch(/shown once/);
  const cli = apiClient(app, key);
  expect((await cli.get('/campaigns')).status).toBe(200);
  const listed = (await cli.get('/api-keys?kind=operator')).body.data;
  expect(listed.find((k: { name: string }) => k.name === 'first')).toMatchObject({ prefix: key.slice(0, 12), revokedAt: null });

  await expect(run(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'src/cli/create-api-key.ts'), '--kind', 'publisher', '--account', 'ghost'], {
    env: { ...process.env, MONGODB_URI: app.config.MONGODB_URI },
  })).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/no publisher with id "ghost"/) });
});

async function keyFor(): Promise<string> {
  return (await issueApiKey({ kind: 'operator', accountId: null })).key;
}
