import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { Advertiser } from '../src/persistence/models/advertiser';
import { Campaign } from '../src/persistence/models/campaign';
import { conversions, type ConversionRecord } from '../src/persistence/models/conversion';
import { Publisher } from '../src/persistence/models/publisher';
import { issueApiKey } from '../src/persistence/models/api-key';
import { sessions, type SessionRecord } from '../src/persistence/models/session';
import { parseServerTiming } from '../src/http/server-timing';
import { bucketStart } from '../src/reports/rollup-cubes';
import { RollupWriter } from '../src/reports/rollup-writer';
import { rollupState, rollups } from '../src/reports/rollup-store';
import { rebuildRollups } from '../src/reports/rollup-verify';
import type { ServerChild } from './children';
import { watchAutovacuum, type AutovacuumWindow } from './autovacuum';
import type { BenchContext } from './context';
import { runLoad, summarize, type LoadResult } from './load';
import { rollupCostPerClick } from './rollup-cost';
import { clickPath } from './seed';

// Reports at volume: sessions and conversions seeded straight into the collections over 90 days
// (bulk inserts, a fixed pseudo-random mix of campaigns, publishers, countries, devices and sub1
// values), the rollups rebuilt from them, then the issue's representative reports timed through
// the API as operator, advertiser and publisher keys while clicks are being written.

export interface ReportTiming {
  name: string;
  key: 'operator' | 'advertiser' | 'publisher';
  query: string;
  samples: number;
  p50: number;
  p99: number;
  max: number;
  rows: number;
  source: string;
  /** The server's own account (its Server-Timing header), p50 of each part: database, summing, building rows. */
  server: { authP50: number; dbP50: number; factsP50: number; buildP50: number; documents: string };
  /** The slowest answer, split the same way: where a tail came from. */
  slowest: { ms: number; auth: number; db: number; facts: number; build: number };
  /** Autovacuum while this report was timed. */
  autovacuum: AutovacuumWindow;
}

export interface ReportsPhaseResult {
  sessions: number;
  conversions: number;
  /** Inserts and the secondary indexes built after them. */
  seedSec: number;
  /** Of seedSec: building the secondary indexes dropped for the inserts. */
  indexSec: number;
  rebuildSec: number;
  rollupDocs: number;
  timings: ReportTiming[];
  /** The clicks written meanwhile. */
  clicks: LoadResult;
  /** The writer's work for one quarter-hour of clicks, per click (the click path itself writes nothing more). */
  writerMsPerClick: number | null;
  writerQuarterClicks: number;
}

const DAY_MS = 86_400_000;
// 200 a report and key: p99 is then the third slowest answer, not the slowest one.
const SAMPLES = 200;
const WARMUP = 3;
const SEED_IN_FLIGHT = 3;

function rng(seed: number) {
  let x = seed;
  return (n: number) => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    // The high bits: an LCG's low bits repeat with short periods.
    return Math.floor((x / 2_147_483_648) * n);
  };
}

const COUNTRIES = ['US', 'FR', 'DE', 'GB', 'ES', 'IT', 'BR', 'IN', 'JP', 'CA', 'AU', 'NL', 'PL', 'SE', 'MX', 'AR', 'TR', 'RU', 'KR', 'ZA'];

type Collection = ReturnType<typeof sessions> | ReturnType<typeof conversions>;

/**
 * Drops a collection's secondary indexes for a bulk load and gives back what puts them back: the
 * engine then maintains one index per insert instead of nine, and builds each once at the end. `_id`,
 * unique indexes and conversions' `createdAt` (what the running writer's ticks read by, with sessions' `_id`) stay.
 */
async function withoutSecondaryIndexes(c: Collection): Promise<() => Promise<void>> {
  const dropped = (await c.indexes()).filter((i) => i.name !== '_id_' && !i.unique && JSON.stringify(i.key) !== '{"createdAt":1}');
  for (const i of dropped) await c.dropIndex(i.name!);
  return async () => {
    if (dropped.length === 0) return;
    await c.createIndexes(dropped.map(({ v: _v, ns: _ns, ...spec }) => spec as Parameters<Collection['createIndexes']>[0][number]));
  };
}

export async function seedReportData(n: number, conversionCount: number, now: number): Promise<{ advertisers: string[]; publishers: string[]; campaigns: string[]; indexSec: number }> {
  const restore = [await withoutSecondaryIndexes(sessions()), await withoutSecondaryIndexes(conversions())];
  const r = rng(7);
  const advertisers = Array.from({ length: 5 }, (_, i) => `radv${i}`);
  const campaigns = Array.from({ length: 20 }, (_, i) => `rcmp${i}`);
  const publishers = Array.from({ length: 50 }, (_, i) => `rpub${i}`);
  // The campaigns themselves: an advertiser's sessions are read as its campaigns' (advertiser-campaigns.ts).
  await Campaign.insertMany(campaigns.map((_id, c) => ({ _id, advertiserId: advertisers[c % 5]!, name: `Report campaign ${c}`, landingUrl: 'https://shop.example/' })));
  const start = now - 90 * DAY_MS;
  const batch = 10_000;
  const convEvery = Math.max(1, Math.floor(n / conversionCount));
  let convs: ConversionRecord[] = [];
  // A few unordered bulk inserts in flight: the engine inserts one batch per connection at a time.
  const inFlight = new Set<Promise<unknown>>();
  const insert = async (p: Promise<unknown>) => {
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= SEED_IN_FLIGHT) await Promise.race(inFlight);
  };
  for (let i = 0; i < n; i += batch) {
    const docs: SessionRecord[] = [];
    for (let j = i; j < Math.min(n, i + batch); j++) {
      const p = r(50);
      // Each publisher runs four campaigns; traffic skews to the first countries.
      const c = (p + r(4) * 5) % 20;
      const at = new Date(start + Math.floor((j / n) * 90 * DAY_MS) + r(60_000));
      const s: SessionRecord = {
        _id: uuidv7({ msecs: at.getTime() }),
        advertiserId: advertisers[c % 5]!,
        campaignId: campaigns[c]!,
        assetId: `asset${c}-${r(3)}`,
        publisherId: publishers[p]!,
        supportId: `sup${p}-${r(2)}`,
        ip: '203.0.113.9',
        country: COUNTRIES[Math.min(r(20), r(20))]!,
        device: { type: ['mobile', 'desktop', 'tablet'][Math.min(r(3), r(3))]!, os: ['iOS', 'Android', 'Windows', 'macOS', 'Linux'][r(5)]!, browser: ['Chrome', 'Safari', 'Firefox', 'Edge'][r(4)]!, vendor: null, model: null },
        userAgent: 'bench',
        publisherData: { sub1: `s${r(40)}` },
        referrer: null,
        providers: { campaign: null, publisher: null, business: null },
        bot: r(20) === 0,
        duplicate: r(33) === 0,
        createdAt: at,
        expiresAt: new Date(at.getTime() + 3_600_000),
        status: 'open',
        workflowStarted: true,
      };
      docs.push(s);
      if (j % convEvery === 0) {
        const cat = new Date(Math.min(at.getTime() + r(3_600_000), now - 1));
        convs.push({
          _id: `rk${j}`, sessionId: s._id, advertiserId: s.advertiserId, campaignId: s.campaignId, publisherId: s.publisherId, assetId: s.assetId, supportId: s.supportId,
          country: s.country, deviceType: s.device.type, bot: s.bot, event: r(4) === 0 ? 'sale' : 'registration', txid: null, txidKey: `rk${j}`, amountMinor: null,
          amountCurrency: null, currency: 'EUR', payoutMinor: 100 + r(5000), revenueMinor: 200 + r(9000), status: (['approved', 'approved', 'pending', 'rejected'] as const)[r(4)]!,
          source: 'postback', createdAt: cat, updatedAt: cat,
        });
      }
    }
    await insert(sessions().insertMany(docs, { ordered: false }));
    if (convs.length >= batch) {
      await insert(conversions().insertMany(convs, { ordered: false }));
      convs = [];
    }
    if ((i / batch) % 20 === 0) console.log(`bench: reports: seeded ${Math.min(n, i + batch)} of ${n} sessions`);
  }
  if (convs.length) await insert(conversions().insertMany(convs, { ordered: false }));
  await Promise.all(inFlight);
  const t0 = Date.now();
  for (const put of restore) await put();
  return { advertisers, publishers, campaigns, indexSec: (Date.now() - t0) / 1000 };
}

interface Timed {
  ms: number;
  rows: number;
  source: string;
  /** Server-Timing: db, facts and build in ms, and the db's description. */
  server: Record<string, { ms: number; desc: string }>;
}

async function timeReport(url: string, key: string): Promise<Timed> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  const body = (await res.json()) as { rows?: unknown[]; source?: string; message?: string };
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`report ${url} answered ${res.status}: ${body.message ?? ''}`);
  return { ms, rows: body.rows?.length ?? 0, source: body.source ?? '?', server: parseServerTiming(res.headers.get('server-timing')) };
}

const median = (xs: number[]) => summarize(xs).p50;

export async function runReportsPhase(ctx: BenchContext, api: ServerChild, n: number): Promise<ReportsPhaseResult> {
  const now = bucketStart(Date.now(), 0);
  const conversionCount = Math.round((n * 30_000) / 1_000_000);
  const t0 = Date.now();
  const seed = await seedReportData(n, conversionCount, now);
  const seedSec = (Date.now() - t0) / 1000;
  console.log(`bench: reports: seeded in ${seedSec.toFixed(1)} s (${seed.indexSec.toFixed(1)} s of it building indexes); rebuilding the rollups of 90 days`);
  const t1 = Date.now();
  // What `npm run rollups -- rebuild` runs.
  await rebuildRollups(new Date(now - 91 * DAY_MS), new Date(now), new RollupWriter({ batch: 256 }));
  const rebuildSec = (Date.now() - t1) / 1000;
  const rollupDocs = await rollups().estimatedDocumentCount();
  console.log(`bench: reports: rollups rebuilt in ${rebuildSec.toFixed(1)} s (${rollupDocs} documents)`);
  // The worker's writer has ticked: reports read rollups.
  for (let i = 0; i < 600 && !(await rollupState().findOne({ _id: 'frontier' }))?.applied; i++) await new Promise((r) => setTimeout(r, 100));

  // Scoped keys need their accounts.
  await Advertiser.create({ _id: seed.advertisers[1]!, name: 'Report advertiser', postbackToken: 'bench-reports-token' });
  // Publisher 1 runs campaigns 1, 6, 11 and 16, all of advertiser 1: each scoped key sees rows in every report.
  await Publisher.create({ _id: seed.publishers[1]!, name: 'Report publisher' });
  const keys = {
    operator: (await issueApiKey({ kind: 'operator', accountId: null })).key,
    advertiser: (await issueApiKey({ kind: 'advertiser', accountId: seed.advertisers[1]! })).key,
    publisher: (await issueApiKey({ kind: 'publisher', accountId: seed.publishers[1]! })).key,
  };
  const day = (offset: number) => new Date(now + offset * DAY_MS).toISOString().slice(0, 10);
  const reports = [
    { name: 'campaign × day, 30 days, Europe/Paris', query: `group_by=campaign,day&from=${day(-30)}&to=${day(0)}&tz=Europe/Paris` },
    { name: 'publisher × country, 7 days', query: `group_by=publisher,country&from=${day(-7)}&to=${day(0)}` },
    { name: 'hour, one day, America/New_York', query: `group_by=hour&from=${day(-2)}&to=${day(-1)}&tz=America/New_York` },
    { name: 'sub1 of one campaign, 30 days', query: `group_by=sub1&campaign=${seed.campaigns[6]}&from=${day(-30)}&to=${day(0)}` },
  ];

  // Clicks written through the real click path all along (an open rate), on a campaign of the fixture,
  // until the last report has been timed.
  const clickRate = Math.max(ctx.args.clickRate, 1);
  const timed = new AbortController();
  let sub = 0;
  const clicking = runLoad({
    url: `${api.url}${clickPath(ctx.fixture, 'click', 'r0')}`,
    connections: 4,
    durationSec: 3600,
    overallRate: clickRate,
    nextPath: () => clickPath(ctx.fixture, 'click', `r${sub++ % 100}`),
    signal: timed.signal,
  });
  // Clicks flowing before the first timed report.
  await new Promise((r) => setTimeout(r, 2000));
  const timings: ReportTiming[] = [];
  const autovacuum = watchAutovacuum(path.join(ctx.dataDir, 'postgresql'));
  for (const report of reports) {
    for (const key of ['operator', 'advertiser', 'publisher'] as const) {
      const url = `${api.url}/api/v1/reports?${report.query}`;
      for (let i = 0; i < WARMUP; i++) await timeReport(url, keys[key]);
      const started = Date.now();
      const all: Timed[] = [];
      for (let i = 0; i < SAMPLES; i++) all.push(await timeReport(url, keys[key]));
      const s = summarize(all.map((t) => t.ms));
      const last = all[all.length - 1]!;
      const part = (t: Timed, name: string) => t.server[name]?.ms ?? NaN;
      const slowest = all.reduce((a, b) => (b.ms > a.ms ? b : a));
      timings.push({
        name: report.name,
        key,
        query: report.query,
        samples: SAMPLES,
        p50: s.p50,
        p99: s.p99,
        max: s.max,
        rows: last.rows,
        source: last.source,
        server: { authP50: median(all.map((t) => part(t, 'auth'))), dbP50: median(all.map((t) => part(t, 'db'))), factsP50: median(all.map((t) => part(t, 'facts'))), buildP50: median(all.map((t) => part(t, 'build'))), documents: last.server.db?.desc ?? '?' },
        slowest: { ms: Math.round(slowest.ms * 100) / 100, auth: part(slowest, 'auth'), db: part(slowest, 'db'), facts: part(slowest, 'facts'), build: part(slowest, 'build') },
        autovacuum: autovacuum.window(started, Date.now()),
      });
      console.log(`bench: reports: ${report.name} as ${key}: p50 ${s.p50} ms, p99 ${s.p99} ms (${last.rows} rows, ${last.source}; ${last.server.db?.desc ?? '?'})`);
    }
  }
  autovacuum.stop();
  timed.abort();
  const clicks = await clicking;

  const writer = await rollupCostPerClick();
  return {
    sessions: n,
    conversions: conversionCount,
    seedSec,
    indexSec: seed.indexSec,
    rebuildSec,
    rollupDocs,
    timings,
    clicks,
    writerMsPerClick: writer.msPerClick,
    writerQuarterClicks: writer.clicks,
  };
}
