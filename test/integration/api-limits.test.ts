import { v7 as uuidv7 } from 'uuid';
import { conversions } from '../../src/persistence/models/conversion';
import { Publisher } from '../../src/persistence/models/publisher';
import { deliveries } from '../../src/persistence/models/delivery';
import { sessions, type SessionRecord } from '../../src/persistence/models/session';
import { TimeBudget } from '../../src/http/api/query-budget';
import { loadFacts, type FactQuery } from '../../src/reports/raw-facts';
import { RowCap } from '../../src/reports/limits';
import { rebuildRollups } from '../../src/reports/rollup-verify';
import { HttpError } from '../../src/http/http-error';
import { clientFor, type ApiClient } from '../support/api-client';
import { clickUrl, createFixture } from '../support/fixtures';
import { get, startTestApp, testId, type TestApp } from '../support/harness';

// What an API key cannot make the tracker do: bad dates and absurd ranges are refused before any
// work, reports and lists stop at their row cap and time budget with a clear answer, and pages,
// filter lists and cursors are bounded. The audit's own requests (H2, M2) are among them.

let app: TestApp;
let op: ApiClient;
let pub: ApiClient;
const ids = { adv: testId('adv'), pub: testId('pub'), campaigns: [testId('c1'), testId('c2'), testId('c3')] };

function session(n: number, campaign: string): SessionRecord {
  const at = new Date(Date.UTC(2025, 0, 1) + n * 3_600_000);
  return {
    _id: uuidv7({ msecs: at.getTime() }), advertiserId: ids.adv, campaignId: campaign, assetId: null, publisherId: ids.pub, supportId: null, ip: '203.0.113.9',
    country: 'FR', device: { type: 'desktop', os: 'Linux', browser: 'Firefox', vendor: null, model: null }, userAgent: 'test', publisherData: {},
    referrer: null, providers: { campaign: null, publisher: null, business: null }, bot: false, duplicate: false, createdAt: at,
    expiresAt: new Date(at.getTime() + 86_400_000), status: 'open', workflowStarted: true,
  };
}

beforeAll(async () => {
  app = await startTestApp({ REPORT_MAX_ROWS: '2', REPORT_MAX_CONCURRENT_PER_KEY: '1' });
  op = await clientFor(app, 'operator');
  await Publisher.create({ _id: ids.pub, name: 'limits publisher' });
  pub = await clientFor(app, 'publisher', ids.pub);
  await sessions().insertMany(Array.from({ length: 300 }, (_, n) => session(n, ids.campaigns[n % 3]!)));
  // Inserted straight into the raw collection, as history from before the rollups: rebuilt.
  await rebuildRollups(new Date('2025-01-01T00:00:00Z'), new Date('2025-01-14T00:00:00Z'));
});
afterAll(async () => {
  await app?.stop();
});

const fieldsOf = (body: { fields?: { path: string; message: string }[] }) => body.fields ?? [];

test("the audit's absurd dates are refused at once, naming the parameter and what is wrong with it, for any key (400 malformed, 422 a range the document cannot rule out)", async () => {
  for (const [q, path, message, status] of [
    ['from=1000-01-01&to=1000-01-02', 'from', /year must be between 2000 and 2100/],
    ['from=0001-01-01&to=2024-01-01', 'from', /year must be between 2000 and 2100/],
    ['from=2024-01-01&to=9999-13-01', 'to', /year must be between 2000 and 2100/],
    ['from=2024-99-99&to=2024-12-01', 'from', /month must be 01 to 12/],
    ['from=2024-02-30&to=2024-03-01', 'from', /day must be 01 to 29 in that month/],
    ['from=2024-01-01T00:00:00Z&to=0999-01-01T00:00:00Z', 'to', /year must be between/],
    ['from=2024-03-01&to=2024-02-01', 'to', /must be after from/, 422],
    ['from=2000-01-01&to=2100-01-01', 'from', /at most 366 days/, 422],
    ['from=2024-01-01&to=2024-03-01&group_by=hour', 'from', /at most 31 days when grouped by hour/, 422],
    ['from=2024-01-01&to=2024-02-01&tz=Mars/Olympus', 'tz', /IANA time zone/],
    [`from=2024-01-01&to=2024-02-01&tz=${'A'.repeat(65)}`, 'tz', /IANA time zone/],
  ] as [string, string, RegExp, number?][]) {
    for (const client of [pub, op]) {
      const res = await client.get(`/reports?${q}`);
      expect([q, res.status]).toEqual([q, status ?? 400]);
      expect(fieldsOf(res.body)).toContainEqual({ path, message: expect.stringMatching(message) });
    }
  }
});

test('a time zone is canonicalised, so its case variants are one zone', async () => {
  const res = await op.get('/reports?from=2025-01-01&to=2025-01-02&tz=europe/PARIS&group_by=day');
  expect(res.status).toBe(200);
  expect(res.body.tz).toBe('Europe/Paris');
  expect(res.body.from).toBe('2024-12-31T23:00:00.000Z');
});

test('group_by is capped at REPORT_MAX_DIMENSIONS dimensions besides day and hour (the audit\'s 13-dimension report)', async () => {
  const all = 'day,campaign,advertiser,publisher,asset,support,country,device_type,os,browser,provider,campaign_provider,business_provider';
  const res = await pub.get(`/reports?from=2025-06-01&to=2026-06-01&group_by=${all}`);
  expect(res.status).toBe(422);
  expect(fieldsOf(res.body)).toEqual([{ path: 'group_by', message: 'at most 4 dimensions besides day and hour (REPORT_MAX_DIMENSIONS); got 12' }]);
  expect((await pub.get('/reports?from=2025-01-01T00:00:00Z&to=2025-01-01T01:00:00Z&group_by=day,hour,country,device_type,os,browser')).status).toBe(200);
});

test('a report with more rows than REPORT_MAX_ROWS is a 422 saying which limit, in JSON and CSV', async () => {
  for (const format of ['json', 'csv']) {
    const res = await op.get(`/reports?from=2025-01-01&to=2025-02-01&group_by=campaign&format=${format}`);
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('the report has more than 2 rows (REPORT_MAX_ROWS); narrow the range, add filters or group by fewer dimensions');
  }
  const narrowed = await op.get(`/reports?from=2025-01-01&to=2025-02-01&group_by=campaign&campaign=${ids.campaigns[0]},${ids.campaigns[1]}`);
  expect(narrowed.status).toBe(200);
  expect(narrowed.body.rows.map((r: { clicks: number }) => r.clicks)).toEqual([100, 100]);
});

test('past its time budget a report stops with a 503 that says so; past its row cap, a 422', async () => {
  const base: FactQuery = { groupBy: ['campaign', 'day'], from: new Date('2025-01-01T00:00:00Z'), to: new Date('2025-02-01T00:00:00Z'), tz: 'UTC', includeBots: false, statuses: ['approved'], filters: [] };
  const budget = new TimeBudget(1, 'the report took too long');
  await new Promise((r) => setTimeout(r, 5));
  const err = await loadFacts({ ...base, budget }).catch((e: unknown) => e);
  expect([err instanceof HttpError && err.status, (err as Error).message]).toEqual([503, 'the report took too long']);
  const capped = await loadFacts({ ...base, rowCap: new RowCap(2) }).catch((e: unknown) => e);
  expect(capped instanceof HttpError && capped.status).toBe(422);
  const within = await loadFacts({ ...base, budget: new TimeBudget(60_000, 'x'), rowCap: new RowCap(1000) });
  expect(within.clicks.reduce((n, c) => n + c.count, 0)).toBe(300);
});

test('the server is told the time left (maxTimeMS), and a page read within it is whole', async () => {
  expect(new TimeBudget(60_000, 'x').maxTimeMS).toBeGreaterThan(0);
  const res = await op.get('/sessions?limit=200');
  expect([res.status, res.body.data.length]).toEqual([200, 200]);
});

test('a list query past its budget is a 503 too, and its cursor is closed', async () => {
  const budget = new TimeBudget(1, 'listing sessions took too long');
  const cursor = sessions().find({}, { batchSize: 10 });
  await new Promise((r) => setTimeout(r, 5));
  const err = await budget.toArray(cursor).catch((e: unknown) => e);
  expect([err instanceof HttpError && err.status, (err as Error).message]).toEqual([503, 'listing sessions took too long']);
  await new Promise((r) => setImmediate(r));
  expect(cursor.closed).toBe(true);
});

test('one key runs at most REPORT_MAX_CONCURRENT_PER_KEY reports at once; the others are 429 with Retry-After', async () => {
  const answers = await Promise.all(Array.from({ length: 6 }, () => pub.get(`/reports?from=2025-01-01&to=2025-02-01&group_by=campaign&campaign=${ids.campaigns[0]}`)));
  const statuses = answers.map((a) => a.status);
  expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
  expect(statuses).toContain(200);
  expect(statuses).toContain(429);
  const refused = answers.find((a) => a.status === 429)!;
  expect(refused.headers.get('retry-after')).toBe('1');
  expect(refused.body.error).toBe('at most 1 reports at once per API key (REPORT_MAX_CONCURRENT_PER_KEY); retry when one has finished');
  // Another key is not held back by this one's reports, and the slot is free again afterwards.
  expect((await op.get(`/reports?from=2025-01-01&to=2025-02-01&campaign=${ids.campaigns[0]}`)).status).toBe(200);
  expect((await pub.get(`/reports?from=2025-01-01&to=2025-02-01&campaign=${ids.campaigns[0]}`)).status).toBe(200);
});

test('huge pages, huge filter lists and bad cursors are 400s naming the parameter', async () => {
  for (const list of ['/sessions', '/conversions', '/deliveries']) {
    for (const [q, path] of [
      ['limit=1000000', 'limit'],
      ['limit=0', 'limit'],
      ['limit=1e9', 'limit'],
      ['cursor=!!!', 'cursor'],
      [`cursor=${'A'.repeat(401)}`, 'cursor'],
      ['cursor=a%20b', 'cursor'],
    ] as const) {
      const res = await op.get(`${list}?${q}`);
      expect([list, q, res.status]).toEqual([list, q, 400]);
      expect(fieldsOf(res.body).map((f) => f.path)).toContain(path);
    }
    expect((await op.get(`${list}?limit=200`)).status).toBe(200);
  }
  const many = Array.from({ length: 1000 }, (_, i) => `c${i}`).join(',');
  const repeated = Array.from({ length: 500 }, (_, i) => `campaign=c${i}`).join('&');
  for (const q of [`campaign=${many}`, repeated]) {
    const res = await op.get(`/reports?from=2025-01-01&to=2025-02-01&${q}`);
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual([{ path: 'campaign', message: expect.stringMatching(/100/) }]);
  }
});

test('list pages walk the page through the cursor, scoped keys included', async () => {
  const first = await pub.get('/sessions?limit=200');
  const second = await pub.get(`/sessions?limit=200&cursor=${first.body.next_cursor}`);
  expect([first.body.data.length, second.body.data.length, second.body.next_cursor]).toEqual([200, 100, null]);
});

test("the audit's CSV injection (L5): a publisher's support id -2-3 reaches the advertiser's CSV export as text, not a formula", async () => {
  const f = await createFixture({ sinkUrl: 'http://127.0.0.1:9' });
  const publisher = await clientFor(app, 'publisher', f.publisherId);
  expect((await publisher.post('/supports', { id: '-2-3', name: 'x' })).status).toBe(201);
  expect((await get(clickUrl(app.url(''), f).replace(`sup=${f.supportId}`, 'sup=-2-3'))).status).toBe(302);
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const advertiser = await clientFor(app, 'advertiser', f.advertiserId);
  const csv = await advertiser.get(`/reports?from=${day(-1)}&to=${day(2)}&group_by=support&format=csv`);
  expect(csv.status).toBe(200);
  expect(csv.text.split('\r\n')[1]).toMatch(/^'-2-3,\d+,\d+,0,/);
});

test('the list scopes have their indexes: {publisherId, _id} and {campaignId, _id} on sessions (an advertiser is read as its campaigns), {publisherId, _id} and {advertiserId, _id} on conversions, {target, targetId, deliveryId} on deliveries', async () => {
  const keys = async (c: { indexes(): Promise<{ key: Record<string, unknown> }[]> }) => (await c.indexes()).map((i) => JSON.stringify(i.key));
  expect(await keys(sessions())).toEqual(expect.arrayContaining(['{"publisherId":1,"_id":1}', '{"campaignId":1,"_id":1}']));
  expect(await keys(conversions())).toEqual(expect.arrayContaining(['{"publisherId":1,"_id":1}', '{"advertiserId":1,"_id":1}']));
  expect(await keys(deliveries())).toContain('{"target":1,"targetId":1,"deliveryId":1}');
});
