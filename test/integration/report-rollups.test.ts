import { spawn } from 'node:child_process';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { idRange } from '../../src/persistence/session-ids';
import { conversions, type ConversionRecord } from '../../src/persistence/models/conversion';
import { Campaign } from '../../src/persistence/models/campaign';
import { sessions, type SessionRecord } from '../../src/persistence/models/session';
import { buildReport, type Dimension } from '../../src/reports/model';
import { loadFacts, type FactQuery } from '../../src/reports/raw-facts';
import { applySessionRetention } from '../../src/reports/rollup-loop';
import { blocksOf, documentsOf, loadRollupFacts } from '../../src/reports/rollup-facts';
import { CUBES, DAY_LEVEL, OTHER, cubeFor } from '../../src/reports/rollup-cubes';
import { dirtyBlocks, dirtyId, rollupId, rollupState, rollups, unpackRows } from '../../src/reports/rollup-store';
import { rebuildRollups, verifyRollups } from '../../src/reports/rollup-verify';
import { RollupWriter, markChanged, markDirty, markRange, minuteId } from '../../src/reports/rollup-writer';
import { clientFor, type ApiClient } from '../support/api-client';
import { eventually, sharedStack, startTestApp, testId, type TestApp } from '../support/harness';

// Rollups against a raw recount on fixtures with known totals: every grouping, time zones either
// side of a DST change (Paris 31 March, New York 10 March, Kathmandu +05:45), bots and duplicates
// in and out, statuses changed after the fact, conversions either side of midnight; rebuilding is
// idempotent, and a writer killed mid-batch or two writers at once count nothing twice.

let app: TestApp;
let op: ApiClient;
const FROM = new Date('2024-03-08T00:00:00Z');
const TO = new Date('2024-04-02T00:00:00Z');
const adv = [testId('advA'), testId('advB')];
const camp = [testId('c0'), testId('c1'), testId('c2')];
const pubs = [testId('p0'), testId('p1'), testId('p2')];

/** A fixed pseudo-random sequence: the fixtures are the same on every run. */
function rng(seed: number) {
  let x = seed;
  return (n: number) => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x % n;
  };
}

function fixtures(): { s: SessionRecord[]; c: ConversionRecord[] } {
  const r = rng(42);
  const span = TO.getTime() - FROM.getTime();
  const s: SessionRecord[] = [];
  for (let i = 0; i < 600; i++) {
    // Every 10th click sits on a quarter-hour, an hour or a midnight edge.
    const at = i % 10 === 0 ? new Date(Date.UTC(2024, 2, 8 + (i % 24)) - (i % 20 === 0 ? 1 : 0)) : new Date(FROM.getTime() + r(span));
    const c = r(3);
    const sub = r(8);
    s.push({
      _id: uuidv7({ msecs: at.getTime() }),
      advertiserId: adv[c === 2 ? 1 : 0]!,
      campaignId: camp[c]!,
      assetId: r(3) === 0 ? null : `asset${r(2)}`,
      publisherId: pubs[r(3)]!,
      supportId: r(2) === 0 ? null : `sup${r(2)}`,
      ip: '203.0.113.9',
      country: ['FR', 'DE', 'US'][r(3)]!,
      device: { type: ['mobile', 'desktop'][r(2)]!, os: ['iOS', 'Android', 'Linux'][r(3)]!, browser: ['Safari', 'Chrome'][r(2)]!, vendor: null, model: null },
      userAgent: 'test',
      publisherData: sub === 7 ? {} : { sub1: sub === 6 ? '' : `s${sub}`, sub2: `x${r(2)}` },
      referrer: null,
      providers: { campaign: r(2) ? 'cp' : null, publisher: r(2) ? 'pp' : null, business: r(3) ? null : 'bp' },
      bot: r(10) === 0,
      duplicate: r(10) === 0,
      createdAt: at,
      expiresAt: new Date(at.getTime() + 86_400_000),
      status: 'open',
      workflowStarted: true,
    });
  }
  const c: ConversionRecord[] = [];
  for (let i = 0; i < 200; i++) {
    const sess = s[r(s.length)]!;
    const currency = ['EUR', 'USD', 'JPY'][r(3)]!;
    // Conversions a little after their click, some exactly at or just before a UTC midnight.
    const at = i % 15 === 0 ? new Date(Date.UTC(2024, 2, 9 + (i % 20)) - (i % 30 === 0 ? 1 : 0)) : new Date(Math.min(sess.createdAt.getTime() + r(3 * 3_600_000), TO.getTime() - 1));
    c.push({
      _id: `rk-${i}-${camp[0]}`,
      sessionId: sess._id,
      advertiserId: sess.advertiserId,
      campaignId: sess.campaignId,
      publisherId: sess.publisherId,
      assetId: sess.assetId,
      supportId: sess.supportId,
      country: sess.country,
      deviceType: sess.device.type,
      bot: sess.bot,
      event: ['sale', 'lead'][r(2)]!,
      txid: null,
      txidKey: `rk-${i}`,
      amountMinor: null,
      amountCurrency: null,
      currency,
      payoutMinor: r(100_000) + 1,
      revenueMinor: r(200_000) + 1,
      status: (['approved', 'approved', 'pending', 'rejected'] as const)[r(4)]!,
      source: 'postback',
      createdAt: at,
      updatedAt: at,
    });
  }
  return { s, c };
}

const SHOW = { payout: true, revenue: true };

/** Sessions with their campaigns, as clicks make them: an advertiser's are read as its campaigns' (advertiser-campaigns.ts). */
async function insertSessions(s: SessionRecord[]): Promise<void> {
  const owners = new Map(s.map((x) => [x.campaignId, x.advertiserId]));
  await Campaign.bulkWrite([...owners].map(([_id, advertiserId]) => ({ updateOne: { filter: { _id }, update: { $setOnInsert: { advertiserId } }, upsert: true } })) as never);
  await sessions().insertMany(s);
}

async function both(q: FactQuery) {
  const fromRollups = await loadRollupFacts(q);
  expect(fromRollups).not.toBeNull();
  const raw = await loadFacts(q);
  return {
    rollups: buildReport(q.groupBy, fromRollups!.clicks, fromRollups!.conversions, { includeBots: q.includeBots, show: SHOW }),
    raw: buildReport(q.groupBy, raw.clicks, raw.conversions, { includeBots: q.includeBots, show: SHOW }),
  };
}

const query = (o: Partial<FactQuery>): FactQuery => ({ groupBy: [], from: FROM, to: TO, tz: 'UTC', includeBots: false, includeDuplicates: true, statuses: ['approved', 'pending'], filters: [], ...o });

async function snapshot(): Promise<Record<string, unknown>> {
  const docs = await rollups().find({ t: { $gte: new Date(FROM.getTime() - 90 * 86_400_000), $lt: TO } }).toArray();
  return Object.fromEntries(docs.map((d) => [d._id, unpackRows(d.rows).map((r) => JSON.stringify(r)).sort()]));
}

jest.setTimeout(120_000);

beforeAll(async () => {
  // No background writer here: each test drives its own, so what it asserts is what it did.
  app = await startTestApp({ ROLLUP_INTERVAL_MS: '0' });
  op = await clientFor(app, 'operator');
  const { s, c } = fixtures();
  await insertSessions(s);
  await conversions().insertMany(c);
  // One tick: reports may read rollups from now on (what `applied` says has been written).
  await new RollupWriter().tick();
  await rebuildRollups(FROM, TO);
});
afterAll(async () => {
  await app?.stop();
});

const PLAIN: Dimension[] = [
  'campaign', 'advertiser', 'publisher', 'asset', 'support', 'country', 'device_type', 'os', 'browser',
  'provider', 'campaign_provider', 'business_provider', 'sub1', 'sub2', 'sub3',
];

test('every grouping, by day in four time zones, equals the raw recount to the cent', async () => {
  let money = 0;
  for (const tz of ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kathmandu']) {
    for (const d of PLAIN) {
      const { rollups: a, raw: b } = await both(query({ groupBy: [d, 'day'], tz }));
      expect([tz, d, a]).toEqual([tz, d, b]);
      money += b.totals.money.length;
    }
  }
  // The fixtures do hold clicks, conversions and money in every report.
  expect(money).toBeGreaterThan(0);
  const all = await both(query({ groupBy: ['campaign'] }));
  expect(all.raw.totals.clicks).toBeGreaterThan(400);
  expect(all.raw.totals.conversions_total).toBeGreaterThan(100);
});

test('local hours across the DST changes of Paris and New York and a +05:45 zone equal the raw recount', async () => {
  for (const [tz, from, to] of [
    ['Europe/Paris', '2024-03-30T12:00:00Z', '2024-04-01T00:00:00Z'],
    ['America/New_York', '2024-03-09T12:00:00Z', '2024-03-11T12:00:00Z'],
    ['Asia/Kathmandu', '2024-03-15T00:00:00Z', '2024-03-17T00:00:00Z'],
  ] as const) {
    for (const groupBy of [['hour'], ['campaign', 'hour'], ['day', 'country']] as Dimension[][]) {
      const { rollups: a, raw: b } = await both(query({ groupBy, tz, from: new Date(from), to: new Date(to) }));
      expect([tz, groupBy, a]).toEqual([tz, groupBy, b]);
    }
  }
});

test('bots and duplicates in and out, every status set, scope and filters: equal to the raw recount', async () => {
  for (const includeBots of [false, true]) {
    for (const includeDuplicates of [false, true]) {
      for (const statuses of [['approved'], ['approved', 'pending'], ['rejected']]) {
        for (const filters of [[], [['advertiser', [adv[0]!]]], [['publisher', [pubs[1]!]], ['country', ['FR', 'US']]]] as FactQuery['filters'][]) {
          const q = query({ groupBy: ['publisher', 'day'], tz: 'Europe/Paris', includeBots, includeDuplicates, statuses, filters });
          const { rollups: a, raw: b } = await both(q);
          expect([includeBots, includeDuplicates, statuses, filters, a]).toEqual([includeBots, includeDuplicates, statuses, filters, b]);
        }
      }
    }
  }
  const withDup = await both(query({ groupBy: ['campaign'] }));
  const withoutDup = await both(query({ groupBy: ['campaign'], includeDuplicates: false }));
  expect(withoutDup.rollups.totals.clicks).toBeLessThan(withDup.rollups.totals.clicks);
});

test('scoped keys, campaign filters and sub-ids read their own day documents and equal the raw recount', async () => {
  const cases: [Dimension[], FactQuery['filters']][] = [
    [['sub1'], [['campaign', [camp[1]!]]]],
    [['sub1', 'day'], [['campaign', [camp[0]!, camp[2]!]], ['publisher', [pubs[2]!]]]],
    [['sub2', 'publisher'], [['advertiser', [adv[0]!]]]],
    [['campaign', 'day'], [['advertiser', [adv[1]!]]]],
    [['campaign', 'day'], [['publisher', [pubs[0]!]]]],
    [['publisher', 'country'], [['advertiser', [adv[0]!]]]],
    [['country', 'device_type'], [['publisher', [pubs[1]!]]]],
    [['asset', 'hour'], [['campaign', [camp[2]!]]]],
  ];
  let partitioned = 0;
  for (const tz of ['UTC', 'Europe/Paris', 'Asia/Kathmandu']) {
    for (const [groupBy, filters] of cases) {
      for (const includeBots of [false, true]) {
        const q = query({ groupBy, filters, tz, includeBots, ...(groupBy.includes('hour') ? { from: new Date('2024-03-30T00:00:00Z'), to: new Date('2024-04-01T00:00:00Z') } : {}) });
        const { rollups: a, raw: b } = await both(q);
        expect([tz, groupBy, filters, includeBots, a]).toEqual([tz, groupBy, filters, includeBots, b]);
      }
      // What it read: the filtered value's partition of every whole UTC day, stored.
      const q = query({ groupBy, filters, tz });
      const cube = cubeFor([...groupBy.filter((d) => d !== 'day' && d !== 'hour'), ...filters.map(([f]) => f)] as Parameters<typeof cubeFor>[0])!;
      const ids = [...documentsOf(q, cube, blocksOf(q, cube, Date.now())!).keys()].filter((id) => id.includes('|day|'));
      if (groupBy.includes('hour')) continue;
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.every((id) => /\|day\|\d+\|(campaign|advertiser|publisher)=/.test(id))).toBe(true);
      partitioned += await rollups().countDocuments({ _id: { $in: ids } });
    }
  }
  expect(partitioned).toBeGreaterThan(100);
});

test('a day is stored whole and once per campaign, advertiser and publisher value, the parts adding up to it', async () => {
  const day = new Date('2024-03-20T00:00:00Z');
  const docs = await rollups().find({ t: day, level: DAY_LEVEL }).toArray();
  const ids = new Set(docs.map((d) => d._id));
  expect(ids.has(`sub1|clicks|day|${day.getTime()}`)).toBe(true);
  for (const c of camp) expect(ids.has(`sub1|clicks|day|${day.getTime()}|campaign=${c}`)).toBe(true);
  const whole = unpackRows(docs.find((d) => d._id === `campaign|clicks|day|${day.getTime()}`)!.rows);
  const byPublisher = docs.filter((d) => d._id.startsWith(`campaign|clicks|day|${day.getTime()}|publisher=`)).flatMap((d) => unpackRows(d.rows));
  expect(byPublisher.reduce((n, r) => n + r.n, 0)).toBe(whole.filter((r) => r.k[2] !== null).reduce((n, r) => n + r.n, 0));
  // `full` keeps no day blocks, nor do the sub-id cubes no click has a value for (sub3-sub5 here).
  expect(CUBES.filter((c) => ids.has(`${c.name}|clicks|day|${day.getTime()}`)).map((c) => c.name)).toEqual(CUBES.filter((c) => !['full', 'sub3', 'sub4', 'sub5'].includes(c.name)).map((c) => c.name));
  expect(await rollups().countDocuments({ cube: { $in: ['sub3', 'sub4', 'sub5'] }, level: { $gte: 0 } })).toBe(0);
});

test('where a sub-id top-N cut values, a local-day report adds blocks up instead of subtracting (no negative row) and equals the raw recount', async () => {
  const c3 = testId('c3');
  const at = Date.UTC(2024, 2, 20, 22);
  const base = fixtures().s[0]!;
  const click = (t: number, sub1: string): SessionRecord => ({ ...base, _id: uuidv7({ msecs: t }), campaignId: c3, publisherData: { sub1 }, createdAt: new Date(t), bot: false, duplicate: false });
  // One campaign × publisher: 150 values twice from 22:00 UTC, then 100 once from 23:00 (the hour
  // that belongs to the next Paris day). 250 values: the 2-hour and day blocks keep the top 200,
  // so 51 of the later ones are (other) in the day but values of their own in its last hour.
  await insertSessions([
    ...Array.from({ length: 300 }, (_, i) => click(at + i * 12_000, `a${i >> 1}`)),
    ...Array.from({ length: 100 }, (_, i) => click(at + 3_600_000 + i * 30_000, `b${i}`)),
  ]);
  await rebuildRollups(new Date(Date.UTC(2024, 2, 20)), new Date(Date.UTC(2024, 2, 21)));
  const q = query({ groupBy: ['sub1', 'day'], tz: 'Europe/Paris', filters: [['campaign', [c3]]], from: new Date('2024-03-19T23:00:00Z'), to: new Date('2024-03-21T23:00:00Z') });
  const day = await rollups().findOne({ _id: `sub1|clicks|day|${Date.UTC(2024, 2, 20)}|campaign=${c3}` });
  expect(unpackRows(day!.rows).some((r) => r.k[3] === OTHER)).toBe(true);
  // No block read here cut a value: added up, the report is the raw one value by value.
  const { rollups: a, raw: b } = await both(q);
  expect(a.rows.every((r) => r.clicks >= 0)).toBe(true);
  expect(a).toEqual(b);
  await sessions().deleteMany({ campaignId: c3 });
  await rebuildRollups(new Date(Date.UTC(2024, 2, 20)), new Date(Date.UTC(2024, 2, 21)));
});

test('the API reads the rollups, with include_duplicates, and refuses a bad value', async () => {
  const base = `/reports?group_by=campaign,day&from=2024-03-08&to=2024-04-01&tz=Europe/Paris&campaign=${camp[1]}`;
  const res = await op.get(base);
  expect(res.status).toBe(200);
  expect(res.body.source).toBe('rollups');
  const without = await op.get(`${base}&include_duplicates=false`);
  expect(without.body.include_duplicates).toBe(false);
  expect(without.body.totals.clicks).toBeLessThan(res.body.totals.clicks);
  const bad = await op.get(`${base}&include_duplicates=maybe`);
  expect(bad.status).toBe(400);
  expect(bad.body.fields.map((f: { path: string }) => f.path)).toContain('include_duplicates');
  // A range off the quarter-hours is answered from the raw collections, the same numbers.
  const odd = await op.get(`/reports?group_by=campaign&from=2024-03-10T00:07:00Z&to=2024-03-20T00:00:00Z&campaign=${camp[1]}`);
  expect(odd.body.source).toBe('raw');
});

test('a status changed after the fact moves the money between statuses once the writer has run', async () => {
  const target = await conversions().findOne({ _id: { $regex: `^rk-.*-${camp[0]}$` }, status: 'approved' });
  const before = await both(query({ groupBy: ['campaign'], statuses: ['approved'] }));
  await conversions().updateOne({ _id: target!._id }, { $set: { status: 'rejected' } });
  await markChanged(target!.createdAt);
  await new RollupWriter().drain();
  const after = await both(query({ groupBy: ['campaign'], statuses: ['approved'] }));
  expect(after.rollups).toEqual(after.raw);
  expect(after.rollups.totals.conversions_total).toBe(before.rollups.totals.conversions_total - 1);
  expect(await verifyRollups(FROM, TO)).toEqual([]);
});

test('rebuilding twice gives the same rollups, and verify finds no difference', async () => {
  const first = await snapshot();
  expect(Object.keys(first).length).toBeGreaterThan(100);
  await rebuildRollups(FROM, TO);
  expect(await snapshot()).toEqual(first);
  expect(await verifyRollups(FROM, TO)).toEqual([]);
});

test('blocks and marks of the older layout (epoch-aligned levels up to 42 days) are dropped by a rebuild and a drain', async () => {
  const expected = await snapshot();
  const t = Date.UTC(2024, 2, 20);
  await rollups().insertOne({ _id: `campaign|clicks|7|${t}`, cube: 'campaign', part: 'clicks', level: 7, t: new Date(t), tok: 1, rows: '[]' });
  await rollups().insertOne({ _id: `campaign|clicks|6|${t + 8 * 3_600_000}`, cube: 'campaign', part: 'clicks', level: 6, t: new Date(t + 8 * 3_600_000), tok: 1, rows: '[]' });
  await dirtyBlocks().insertOne({ _id: dirtyId(9, t), level: 9, t: new Date(t), seq: 1, leaseUntil: new Date(0), tok: 0 });
  await rebuildRollups(new Date(t), new Date(t + 86_400_000));
  expect(await dirtyBlocks().countDocuments({ level: 9 })).toBe(0);
  expect(await snapshot()).toEqual(expected);
});

// The marks-and-drain path (the live writer's) is slower than a rebuild: two days of it.
const DAY1 = new Date('2024-03-30T00:00:00Z');
const DAY3 = new Date('2024-04-01T00:00:00Z');

test('two writers draining the same marks at once count nothing twice', async () => {
  const expected = await snapshot();
  await markRange(DAY1, DAY3);
  await Promise.all([new RollupWriter().drain(), new RollupWriter().drain()]);
  expect(await snapshot()).toEqual(expected);
});

test('a writer process killed in the middle of a batch, then restarted, double-counts nothing', async () => {
  const expected = await snapshot();
  await rollups().deleteMany({ level: 0, t: { $gte: DAY1, $lt: DAY3 } });
  await markRange(DAY1, DAY3);
  const total = await dirtyBlocks().countDocuments({ level: 0 });
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/rollups.ts', 'drain'], {
    cwd: path.resolve(__dirname, '../..'),
    env: { PATH: process.env.PATH ?? '', MONGODB_URI: `${sharedStack().mongoPrefix}${app.dbName}`, ROLLUP_LEASE_MS: '300', LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Killed once it has done part of the work, not all of it.
  await eventually(async () => (await dirtyBlocks().countDocuments({ level: 0 })) < total - 10, 60_000, 'the child writer to make progress');
  child.kill('SIGKILL');
  await exited;
  expect(await dirtyBlocks().countDocuments({})).toBeGreaterThan(0);
  // Restarted: what the dead writer held is taken over once its lease runs out.
  const writer = new RollupWriter({ leaseMs: 300 });
  await eventually(async () => {
    await writer.drain();
    return (await dirtyBlocks().countDocuments({})) === 0;
  }, 60_000, 'the marks to be drained');
  expect(await snapshot()).toEqual(expected);
  expect(await verifyRollups(FROM, TO)).toEqual([]);
});

test('raw sessions can expire (a TTL index) while the rollups keep their clicks', async () => {
  // Ten years: the fixtures' windows closed in 2024, and a TTL pass while the index exists must not
  // take their sessions (the later tests recount them raw). The 12th is deleted by hand below.
  await applySessionRetention(3650);
  const index = (await sessions().indexes()).find((i) => i.name === 'session_retention');
  expect(index).toMatchObject({ key: { expiresAt: 1 }, expireAfterSeconds: 3650 * 86_400 });
  const before = await both(query({ groupBy: ['campaign'] }));
  // The raw sessions of the range are gone; a writer that knows they may be expired keeps the clicks.
  const quarter = new Date('2024-03-12T00:00:00Z');
  expect(before.rollups.totals.clicks).toBeGreaterThan(0);
  await sessions().deleteMany({ _id: idRange(quarter, quarter.getTime() + 86_400_000), campaignId: { $in: camp } });
  await markRange(quarter, new Date(quarter.getTime() + 86_400_000));
  await new RollupWriter({ retentionMs: Date.now() - Date.UTC(2024, 2, 20) }).drain();
  const after = await both(query({ groupBy: ['campaign'] }));
  expect(after.rollups).toEqual(before.rollups);
  expect(after.raw.totals.clicks).toBeLessThan(before.raw.totals.clicks);
  await applySessionRetention(0);
  expect((await sessions().indexes()).some((i) => i.name === 'session_retention')).toBe(false);
});

test('a tick leaves the quarter-hour still taking clicks to the raw read, and counts it once it has settled', async () => {
  const saved = await rollupState().findOne({ _id: 'frontier' });
  const q = Date.UTC(2025, 5, 1, 12, 0);
  const campaign = testId('live');
  const base = fixtures().s[0]!;
  await insertSessions([1, 2, 3].map((i) => ({ ...base, _id: uuidv7({ msecs: q + i * 60_000 }), campaignId: campaign, createdAt: new Date(q + i * 60_000) })));
  const clicksDoc = () => rollups().findOne({ _id: rollupId('campaign', 'clicks', 0, q) });
  try {
    await rollupState().updateOne({ _id: 'frontier' }, { $set: { frontier: new Date(q) } });
    const writer = new RollupWriter({ lateMs: 120_000 });
    // Five minutes in, with a conversion marking it: nothing is read for it, the mark waits.
    await markChanged(q + 60_000);
    await writer.tick(q + 5 * 60_000);
    expect(await clicksDoc()).toBeNull();
    expect(await dirtyBlocks().countDocuments({ _id: dirtyId(0, q) })).toBe(1);
    // Still inside the late margin after its end: still left alone.
    await writer.tick(q + 16 * 60_000);
    expect(await clicksDoc()).toBeNull();
    // Settled: one tick counts its three clicks and clears the mark.
    await writer.tick(q + 17 * 60_000 + 1);
    const doc = await clicksDoc();
    expect(unpackRows(doc!.rows).filter((r) => r.k[0] === campaign).reduce((n, r) => n + r.n, 0)).toBe(3);
    expect(await dirtyBlocks().countDocuments({ _id: dirtyId(0, q) })).toBe(0);
  } finally {
    await rollupState().replaceOne({ _id: 'frontier' }, saved!);
    await sessions().deleteMany({ campaignId: campaign });
  }
});

test('the open quarter-hours are read from the minute documents the writer has written (raw after them, and raw for a scoped report), and equal the raw recount', async () => {
  const now = Date.now();
  const campaign = testId('tail');
  const base = fixtures();
  const at = [now - 90_000, now - 70_000, now - 65_000, now - 1_000];
  const tail = at.map((t, i) => ({ ...base.s[i]!, _id: uuidv7({ msecs: t }), campaignId: campaign, bot: false, createdAt: new Date(t) }));
  await insertSessions(tail);
  await conversions().insertOne({ ...base.c[0]!, _id: `tail-c-${campaign}`, sessionId: tail[1]!._id, campaignId: campaign, status: 'approved', txidKey: `tail-${campaign}`, createdAt: new Date(now - 60_000), updatedAt: new Date(now - 60_000) });
  try {
    // As if these clicks had been stored at once: no minute document written before them.
    await rollupState().updateOne({ _id: 'frontier' }, { $unset: { minutes: '' } });
    await rollups().deleteMany({ level: -1 });
    const writer = new RollupWriter();
    await writer.tick(now);
    // Five minutes a tick at most, from the applied quarter-hour on; the next ticks catch up.
    const first = (await rollupState().findOne({ _id: 'frontier' }))!;
    expect(first.minutes!.getTime() - first.applied!.getTime()).toBeLessThanOrEqual(5 * 60_000);
    for (let i = 0; i < 4; i++) await writer.tick(now);
    const minute = Math.floor((now - 90_000) / 60_000) * 60_000;
    const doc = await rollups().findOne({ _id: minuteId('campaign', minute) });
    const inMinute = at.filter((t) => Math.floor(t / 60_000) * 60_000 === minute).length;
    expect(unpackRows(doc!.rows).filter((r) => r.k[0] === campaign).reduce((n, r) => n + r.n, 0)).toBe(inMinute);
    // The minute still taking clicks has no document: read raw.
    expect(await rollups().findOne({ _id: minuteId('campaign', Math.floor((now - 1_000) / 60_000) * 60_000) })).toBeNull();

    const range = { from: new Date(Math.floor(now / 900_000) * 900_000 - 1_800_000), to: new Date(Math.ceil(now / 900_000) * 900_000) };
    for (const filters of [[], [['campaign', [campaign]]]] as FactQuery['filters'][]) {
      const r = await both(query({ groupBy: ['campaign', 'hour'], ...range, filters }));
      expect(r.rollups).toEqual(r.raw);
      expect(r.rollups.rows.filter((x) => x.campaign === campaign).reduce((n, x) => n + x.clicks, 0)).toBe(4);
    }
    // The raw session of a written minute gone: a report of every account reads the minute document
    // and still counts it; one filtered on the campaign reads its own clicks raw.
    await sessions().deleteOne({ _id: tail[0]!._id });
    const all = await both(query({ groupBy: ['campaign'], ...range }));
    const row = (x: typeof all.raw) => x.rows.find((y) => y.campaign === campaign)?.clicks;
    expect([row(all.rollups), row(all.raw)]).toEqual([4, 3]);
    const own = await both(query({ groupBy: ['campaign'], ...range, filters: [['campaign', [campaign]]] }));
    expect([own.rollups.totals.clicks, own.raw.totals.clicks]).toEqual([3, 3]);
  } finally {
    await sessions().deleteMany({ campaignId: campaign });
    await conversions().deleteMany({ campaignId: campaign });
  }
});

test('a cube added by an upgrade serves reports only from the first day summed with it whole, and a rebuild extends it back', async () => {
  const saved = (await rollupState().findOne({ _id: 'frontier' }))!;
  // The first writer on this database found no state: every quarter-hour is summed with the cube.
  expect(saved.cubes).toEqual({ publisher_country: new Date(0) });
  const upgrade = Date.UTC(2024, 2, 20, 10, 0);
  // From the 13th: the retention test before this one left the 12th's clicks in the rollups only.
  const report = () => both(query({ groupBy: ['publisher', 'country'], from: new Date('2024-03-13T00:00:00Z'), filters: [] }));
  try {
    // As if the worker was upgraded at 10:00 on 20 March: nothing of the new cube before it.
    await rollups().deleteMany({ cube: 'publisher_country' });
    await rollupState().updateOne({ _id: 'frontier' }, { $set: { frontier: new Date(upgrade) }, $unset: { cubes: '' } });
    await new RollupWriter({ lateMs: 120_000 }).tick(upgrade + 6 * 3_600_000 + 120_001);
    expect((await rollupState().findOne({ _id: 'frontier' }))!.cubes).toEqual({ publisher_country: new Date(upgrade) });
    // Its day block of the 20th holds only the six hours since 10:00: a report falls back to publisher_geo.
    expect(await rollups().countDocuments({ cube: 'publisher_country', t: new Date(Date.UTC(2024, 2, 20)) })).toBeGreaterThan(0);
    const before = await report();
    expect(before.rollups).toEqual(before.raw);
    expect(before.raw.totals.clicks).toBeGreaterThan(300);

    // A rebuild reaching past the upgrade makes it complete from the rebuild's start.
    await rebuildRollups(FROM, TO);
    expect((await rollupState().findOne({ _id: 'frontier' }))!.cubes).toEqual({ publisher_country: FROM });
    // Read from the new cube now: without publisher_geo's blocks the report still equals the raw recount.
    await rollups().deleteMany({ cube: 'publisher_geo' });
    const after = await report();
    expect(after.rollups).toEqual(after.raw);
    expect(after.rollups).toEqual(before.rollups);
  } finally {
    await rollupState().replaceOne({ _id: 'frontier' }, saved);
    await rebuildRollups(FROM, TO);
  }
  expect(await verifyRollups(FROM, TO)).toEqual([]);
});

test('a writer whose claim is about to run out writes no partition of a day (a later claim may have skipped them as unchanged), and leaves the mark', async () => {
  const day = Date.UTC(2024, 2, 15);
  const toks = async () => Object.fromEntries((await rollups().find({ t: new Date(day), level: DAY_LEVEL }, { projection: { tok: 1 } }).toArray()).map((d) => [d._id, d.tok]));
  const before = await toks();
  expect(Object.keys(before).filter((id) => id.includes('=')).length).toBeGreaterThan(10);
  // Every partition looks changed to it: a writer that wrote anyway would put its token on each.
  await rollups().updateMany({ t: new Date(day), level: DAY_LEVEL, ph: { $exists: true } }, { $set: { ph: {} } });
  await markDirty(day, DAY_LEVEL);
  await new RollupWriter({ leaseMs: 0 }).drain();
  expect(await toks()).toEqual(before);
  expect(await dirtyBlocks().countDocuments({ _id: dirtyId(DAY_LEVEL, day) })).toBe(1);
  // A writer with time enough writes the day and clears the mark.
  await new RollupWriter().drain();
  expect(await dirtyBlocks().countDocuments({ _id: dirtyId(DAY_LEVEL, day) })).toBe(0);
  expect(Object.values(await toks()).some((tok) => !Object.values(before).includes(tok))).toBe(true);
  expect(await verifyRollups(new Date(day), new Date(day + 86_400_000))).toEqual([]);
});
