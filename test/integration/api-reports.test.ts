import { v7 as uuidv7 } from 'uuid';
import { conversions, type ConversionRecord } from '../../src/persistence/models/conversion';
import { sessions, type SessionRecord } from '../../src/persistence/models/session';
import { rebuildRollups } from '../../src/reports/rollup-verify';
import { parseServerTiming } from '../../src/http/server-timing';
import { rollupState } from '../../src/reports/rollup-store';
import { clientFor, type ApiClient } from '../support/api-client';
import { eventually, startTestApp, testId, type TestApp } from '../support/harness';

// Reports over sessions and conversions inserted straight into the collections, with totals worked
// out by hand. Paris is UTC+1 in early March 2024: 23:10Z on the 10th is 00:10 on the 11th there.

let app: TestApp;
let op: ApiClient;
const id = {
  advX: testId('advX'),
  advY: testId('advY'),
  cX1: testId('cX1'),
  cX2: testId('cX2'),
  cY: testId('cY'),
  p1: testId('p1'),
  p2: testId('p2'),
};

function session(n: string, o: { campaign: string; advertiser: string; publisher: string; at: string; os: string; bot?: boolean; country?: string }): SessionRecord {
  return {
    _id: uuidv7({ msecs: Date.parse(o.at) }),
    advertiserId: o.advertiser,
    campaignId: o.campaign,
    assetId: null,
    publisherId: o.publisher,
    supportId: null,
    ip: '203.0.113.9',
    country: o.country ?? 'FR',
    device: { type: 'mobile', os: o.os, browser: 'Safari', vendor: null, model: null },
    userAgent: 'test',
    publisherData: {},
    referrer: null,
    providers: { campaign: null, publisher: null, business: null },
    bot: o.bot ?? false,
    duplicate: false,
    createdAt: new Date(o.at),
    expiresAt: new Date(Date.parse(o.at) + 86_400_000),
    status: 'open',
    workflowStarted: true,
  };
}

function conversion(n: string, s: SessionRecord, o: { event: string; currency: string; payout: number; revenue: number; at: string; status?: ConversionRecord['status'] }): ConversionRecord {
  return {
    _id: `k-${n}-${id.cX1}`,
    sessionId: s._id,
    advertiserId: s.advertiserId,
    campaignId: s.campaignId,
    publisherId: s.publisherId,
    assetId: null,
    supportId: null,
    country: s.country,
    deviceType: s.device.type,
    bot: s.bot,
    event: o.event,
    txid: null,
    txidKey: `k-${n}`,
    amountMinor: null,
    amountCurrency: null,
    currency: o.currency,
    payoutMinor: o.payout,
    revenueMinor: o.revenue,
    status: o.status ?? 'approved',
    source: 'postback',
    createdAt: new Date(o.at),
    updatedAt: new Date(o.at),
  };
}

beforeAll(async () => {
  app = await startTestApp();
  op = await clientFor(app, 'operator');
  const X = { advertiser: id.advX };
  const s1 = session('1', { ...X, campaign: id.cX1, publisher: id.p1, at: '2024-03-10T10:00:00Z', os: 'iOS' });
  const s2 = session('2', { ...X, campaign: id.cX1, publisher: id.p1, at: '2024-03-10T22:30:00Z', os: 'Android' });
  const s3 = session('3', { ...X, campaign: id.cX1, publisher: id.p2, at: '2024-03-10T23:30:00Z', os: 'Android' });
  const s4 = session('4', { ...X, campaign: id.cX1, publisher: id.p1, at: '2024-03-10T12:00:00Z', os: 'Linux', bot: true });
  const s5 = session('5', { advertiser: id.advY, campaign: id.cY, publisher: id.p2, at: '2024-03-11T09:00:00Z', os: 'Windows', country: 'DE' });
  const s6 = session('6', { ...X, campaign: id.cX2, publisher: id.p1, at: '2024-03-09T22:30:00Z', os: 'iOS' });
  await sessions().insertMany([s1, s2, s3, s4, s5, s6]);
  await conversions().insertMany([
    conversion('1', s1, { event: 'sale', currency: 'EUR', payout: 1250, revenue: 2000, at: '2024-03-10T11:00:00Z' }),
    conversion('2', s2, { event: 'registration', currency: 'EUR', payout: 250, revenue: 400, at: '2024-03-10T22:50:00Z' }),
    conversion('3', s2, { event: 'sale', currency: 'EUR', payout: 333, revenue: 999, at: '2024-03-10T23:10:00Z', status: 'pending' }),
    conversion('4', s4, { event: 'sale', currency: 'EUR', payout: 1000, revenue: 1500, at: '2024-03-10T12:30:00Z' }),
    conversion('5', s5, { event: 'sale', currency: 'USD', payout: 199, revenue: 299, at: '2024-03-11T10:00:00Z' }),
    conversion('6', s1, { event: 'sale', currency: 'EUR', payout: 5000, revenue: 7000, at: '2024-03-10T11:30:00Z', status: 'rejected' }),
    conversion('7', s3, { event: 'registration', currency: 'EUR', payout: 250, revenue: 400, at: '2024-03-11T00:30:00Z' }),
    conversion('8', s6, { event: 'sale', currency: 'EUR', payout: 777, revenue: 888, at: '2024-03-09T22:40:00Z' }),
  ]);
  // Inserted straight into the raw collections, like history from before the rollups: rebuilt,
  // and reports read the rollups once the app's writer has run.
  await rebuildRollups(new Date('2024-03-01T00:00:00Z'), new Date('2024-04-01T00:00:00Z'));
  await eventually(async () => (await rollupState().findOne({ _id: 'frontier' }))?.applied, 20_000, 'the rollup writer');
});
afterAll(async () => {
  await app?.stop();
});

const eur = (payout: number, revenue: number, epc: string | null) => ({
  currency: 'EUR',
  payout_minor: payout,
  payout: (payout / 100).toFixed(2),
  revenue_minor: revenue,
  revenue: (revenue / 100).toFixed(2),
  profit_minor: revenue - payout,
  profit: ((revenue - payout) / 100).toFixed(2),
  epc,
});

const PARIS = 'from=2024-03-10&to=2024-03-12&tz=Europe/Paris';

test('by campaign and Paris day: conversions either side of local midnight land on their own local day', async () => {
  const res = await op.get(`/reports?group_by=campaign,day&${PARIS}`);
  expect(res.status).toBe(200);
  expect(res.body.from).toBe('2024-03-09T23:00:00.000Z');
  expect(res.body.to).toBe('2024-03-11T23:00:00.000Z');
  expect(res.body.source).toBe('rollups');
  expect(res.body.rows).toEqual([
    { campaign: id.cX1, day: '2024-03-10', clicks: 2, bot_clicks: 1, conversions: { registration: 1, sale: 1 }, conversions_total: 2, conversion_rate: 1, money: [eur(1500, 2400, '7.5000')] },
    { campaign: id.cX1, day: '2024-03-11', clicks: 1, bot_clicks: 0, conversions: { registration: 1, sale: 1 }, conversions_total: 2, conversion_rate: 2, money: [eur(583, 1399, '5.8300')] },
    {
      campaign: id.cY,
      day: '2024-03-11',
      clicks: 1,
      bot_clicks: 0,
      conversions: { sale: 1 },
      conversions_total: 1,
      conversion_rate: 1,
      money: [{ currency: 'USD', payout_minor: 199, payout: '1.99', revenue_minor: 299, revenue: '2.99', profit_minor: 100, profit: '1.00', epc: '1.9900' }],
    },
  ]);
  expect(res.body.totals).toMatchObject({ clicks: 4, bot_clicks: 1, conversions: { registration: 2, sale: 3 }, conversions_total: 5 });
  expect(res.body.totals.money.map((m: { currency: string; payout_minor: number; revenue_minor: number }) => [m.currency, m.payout_minor, m.revenue_minor])).toEqual([
    ['EUR', 2083, 3799],
    ['USD', 199, 299],
  ]);
});

test('Server-Timing says where a report spent its time: the key lookup, the database reads and documents, the summing and the rows built', async () => {
  const timing = (res: { headers: Headers }) => parseServerTiming(res.headers.get('server-timing'));
  const fromRollups = timing(await op.get(`/reports?group_by=campaign,day&${PARIS}`));
  expect(Object.keys(fromRollups)).toEqual(['auth', 'db', 'facts', 'build']);
  expect(fromRollups.auth!.ms).toBeGreaterThan(0);
  // The frontier, then the blocks of the two Paris days (each day's edges and whole UTC days).
  expect(fromRollups.db!.desc).toMatch(/^([2-9]|\d\d+) reads of [1-9]\d* documents$/);
  expect(fromRollups.facts!.desc).toBe('rollups');
  expect(fromRollups.build!.desc).toBe('3 rows');
  expect(fromRollups.facts!.ms).toBeGreaterThanOrEqual(fromRollups.db!.ms - 1);
  // Not on quarter-hours: the raw collections, whose answers are grouped rows, not blocks.
  const raw = timing(await op.get(`/reports?group_by=campaign&from=2024-03-10T00:05:00Z&to=2024-03-12T00:00:00Z`));
  expect(raw.facts!.desc).toBe('raw');
  expect(raw.db!.desc).toMatch(/^2 reads of \d+ documents$/);
});

test('the same data by UTC day puts the 23:10Z conversion on the 10th', async () => {
  const res = await op.get(`/reports?group_by=day&from=2024-03-10T00:00:00Z&to=2024-03-12T00:00:00Z&campaign=${id.cX1}`);
  expect(res.body.rows.map((r: { day: string; clicks: number; money: { payout_minor: number }[] }) => [r.day, r.clicks, r.money[0]?.payout_minor])).toEqual([
    ['2024-03-10', 3, 1833],
    ['2024-03-11', 0, 250],
  ]);
});

test('by local hour, across midnight in Paris', async () => {
  const res = await op.get(`/reports?group_by=hour&from=2024-03-10T23:00:00%2B01:00&to=2024-03-11T02:00:00%2B01:00&tz=Europe/Paris&campaign=${id.cX1}`);
  expect(res.status).toBe(200);
  expect(res.body.rows.map((r: { hour: string; clicks: number; conversions: object }) => [r.hour, r.clicks, r.conversions])).toEqual([
    ['2024-03-10T23:00+01:00', 1, { registration: 1 }],
    ['2024-03-11T00:00+01:00', 1, { sale: 1 }],
    ['2024-03-11T01:00+01:00', 0, { registration: 1 }],
  ]);
});

test('bots are left out by default and counted when asked for', async () => {
  const base = `/reports?group_by=campaign&${PARIS}&campaign=${id.cX1}`;
  const without = (await op.get(base)).body.rows[0];
  const withBots = (await op.get(`${base}&include_bots=true`)).body.rows[0];
  expect([without.clicks, without.bot_clicks, without.money[0].payout_minor]).toEqual([3, 1, 2083]);
  expect([withBots.clicks, withBots.bot_clicks, withBots.money[0].payout_minor, withBots.conversions.sale]).toEqual([4, 1, 3083, 3]);
});

test('dimensions only sessions carry (os) are resolved for conversions too', async () => {
  const res = await op.get(`/reports?group_by=os&${PARIS}`);
  expect(res.body.rows.map((r: { os: string; clicks: number; money: { currency: string; payout_minor: number }[] }) => [r.os, r.clicks, r.money.map((m) => `${m.currency} ${m.payout_minor}`)])).toEqual([
    // Sorted by code unit, as MongoDB sorts strings.
    ['Android', 2, ['EUR 833']],
    ['Linux', 0, []],
    ['Windows', 1, ['USD 199']],
    ['iOS', 1, ['EUR 1250']],
  ]);
});

test('CSV holds the same numbers as JSON, one line per group and currency', async () => {
  const q = `group_by=campaign,day,country&${PARIS}&include_bots=true`;
  const json = (await op.get(`/reports?${q}`)).body;
  const csv = await op.get(`/reports?${q}&format=csv`);
  expect(csv.status).toBe(200);
  expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
  const [header, ...lines] = csv.text.trimEnd().split('\r\n').map((l) => l.split(','));
  const records = lines.map((cells) => Object.fromEntries(header!.map((h, i) => [h, cells[i]])));
  type Money = Record<string, string | number | null>;
  type Row = Record<string, string | number | null> & { conversions: Record<string, number>; money: Money[] };
  const expected = (json.rows as Row[]).flatMap((r) =>
    (r.money.length ? r.money : [null]).map((m) => ({
      campaign: r.campaign,
      day: r.day,
      country: r.country,
      clicks: String(r.clicks),
      bot_clicks: String(r.bot_clicks),
      conversions_total: String(r.conversions_total),
      'conversions.registration': String(r.conversions.registration ?? 0),
      'conversions.sale': String(r.conversions.sale ?? 0),
      conversion_rate: r.conversion_rate === null ? '' : String(r.conversion_rate),
      currency: m?.currency ?? '',
      payout_minor: m ? String(m.payout_minor) : '',
      payout: m?.payout ?? '',
      revenue_minor: m ? String(m.revenue_minor) : '',
      revenue: m?.revenue ?? '',
      profit_minor: m ? String(m.profit_minor) : '',
      profit: m?.profit ?? '',
      epc: m?.epc ?? '',
    })),
  );
  expect(records).toEqual(expected);
  expect(records.length).toBeGreaterThanOrEqual(3);
});

test('an advertiser key sees only its campaigns and no payout; a publisher key only its traffic and no revenue', async () => {
  // A key works only for an account that exists and is not archived.
  expect((await op.post('/advertisers', { id: id.advY, name: 'Y' })).status).toBe(201);
  expect((await op.post('/publishers', { id: id.p2, name: 'P2' })).status).toBe(201);
  const adv = await clientFor(app, 'advertiser', id.advY);
  const a = (await adv.get(`/reports?group_by=campaign&${PARIS}`)).body;
  expect(a.rows.map((r: { campaign: string }) => r.campaign)).toEqual([id.cY]);
  expect(a.rows[0].money).toEqual([{ currency: 'USD', revenue_minor: 299, revenue: '2.99' }]);
  // Asking for another advertiser's campaign by id yields nothing rather than its numbers.
  expect((await adv.get(`/reports?group_by=campaign&${PARIS}&campaign=${id.cX1}`)).body.rows).toEqual([]);

  const pub = await clientFor(app, 'publisher', id.p2);
  const p = (await pub.get(`/reports?group_by=campaign&${PARIS}`)).body;
  expect(p.rows.map((r: { campaign: string; clicks: number; money: object[] }) => [r.campaign, r.clicks, r.money])).toEqual([
    [id.cX1, 1, [{ currency: 'EUR', payout_minor: 250, payout: '2.50', epc: '2.5000' }]],
    [id.cY, 1, [{ currency: 'USD', payout_minor: 199, payout: '1.99', epc: '1.9900' }]],
  ]);
});

test('bad parameters are 400s (422 for a range the document cannot rule out) naming the parameter', async () => {
  for (const [q, path, status = 400] of [
    [`group_by=campaign&${PARIS.replace('Europe/Paris', 'Mars/Olympus')}`, 'tz'],
    [`group_by=campaign,planet&${PARIS}`, 'group_by.1'],
    ['group_by=day&from=2024-03-12&to=2024-03-10', 'to', 422],
    ['group_by=day&from=yesterday&to=2024-03-10', 'from'],
    ['group_by=hour&from=2024-01-01&to=2024-03-10', 'from', 422],
    [`${PARIS}&format=xml`, 'format'],
    [`${PARIS}&colour=blue`, 'colour'],
  ] as [string, string, number?][]) {
    const res = await op.get(`/reports?${q}`);
    expect([q, res.status]).toEqual([q, status]);
    expect(res.body.fields.map((f: { path: string }) => f.path)).toContain(path);
  }
  expect((await op.get('/reports?group_by=day')).body.fields.map((f: { path: string }) => f.path).sort()).toEqual(['from', 'to']);
});

test('local hours and days come from the database in the caller’s time zone: a fall-back hour twice, a +05:45 midnight', async () => {
  const cZ = testId('cZ');
  const Z = { advertiser: id.advX, campaign: cZ, publisher: id.p1, os: 'iOS' };
  // Paris falls back at 01:00Z on 27 October 2024: 00:30Z and 01:30Z are both 02:30 local.
  const early = session('z1', { ...Z, at: '2024-10-27T00:30:00Z' });
  const late = session('z2', { ...Z, at: '2024-10-27T01:30:00Z' });
  // 18:20Z is 00:05 on the 28th in Kathmandu (UTC+05:45).
  const kathmandu = session('z3', { ...Z, at: '2024-10-27T18:20:00Z' });
  await sessions().insertMany([early, late, kathmandu]);
  await conversions().insertOne(conversion('z1', late, { event: 'sale', currency: 'EUR', payout: 100, revenue: 150, at: '2024-10-27T01:40:00Z' }));
  await rebuildRollups(new Date('2024-10-26T00:00:00Z'), new Date('2024-10-29T00:00:00Z'));

  const hours = (await op.get(`/reports?group_by=hour&from=2024-10-27T00:00:00Z&to=2024-10-27T02:00:00Z&tz=Europe/Paris&campaign=${cZ}`)).body;
  expect(hours.rows.map((r: { hour: string; clicks: number; conversions_total: number }) => [r.hour, r.clicks, r.conversions_total])).toEqual([
    ['2024-10-27T02:00+01:00', 1, 1],
    ['2024-10-27T02:00+02:00', 1, 0],
  ]);
  const days = (await op.get(`/reports?group_by=day&from=2024-10-27&to=2024-10-29&tz=Asia/Kathmandu&campaign=${cZ}`)).body;
  expect(days.rows.map((r: { day: string; clicks: number }) => [r.day, r.clicks])).toEqual([
    ['2024-10-27', 2],
    ['2024-10-28', 1],
  ]);
});
