import mongoose from 'mongoose';
import { v7 as uuidv7 } from 'uuid';
import { runLoad, type LoadResult } from './load';
import type { ServerChild } from './children';
import { hotPathLoad, serverScript, settleEngine, startServer, withCpu, type BenchContext } from './context';
import type { CpuUsage } from './cpu';
import { readCounts, waitFor, type Counts } from './counts';
import { BASELINE_DB, CLICKTRAIL_DB, settledWrites, writesPerRequest, type WriteSnapshot, type WritesPerRequest } from './db-writes';
import { moreRounds, roundOf, roundsOf, type Rounds } from './rounds';
import { clickPath } from './seed';
import { visitor, visitorHeaders } from './traffic-mix';
import { readConversionState, unsignalledConversions } from '../src/handover/conversion-log';
import { inbounds } from '../src/persistence/models/inbound';
import { sessions } from '../src/persistence/models/session';

// The postback endpoint on its own: server-to-server conversions against a pool of real click
// ids, each request with its own transaction id (a repeatable "sale" event with an amount), so
// that every accepted request is a conversion the workflow must record and notify. First the same
// load against baseline (e), a MongoDB-only postback (session lookup by id, one insert).

/** The same requests at a fixed offered rate (`--postback-rate`), before the saturating run: latency where nothing queues. */
export interface FixedRateResult {
  load: LoadResult;
  bad: number;
}

export interface PostbackBaselineResult {
  load: LoadResult;
  atFixedRate: FixedRateResult | null;
  cpu: CpuUsage;
  /** Answers other than 202, and requests without an answer. */
  bad: number;
  /** Database rows written per request answered (fixed-rate, warmup and measured runs); null: not the local PostgreSQL. */
  dbWrites: WritesPerRequest[] | null;
}

export interface PostbackPhaseResult {
  baseline: PostbackBaselineResult;
  poolSessions: number;
  load: LoadResult;
  /** (e)'s and clicktrail's saturated runs: the ones above, then `--rounds` more, interleaved. */
  rounds: Rounds;
  atFixedRate: FixedRateResult | null;
  cpu: CpuUsage;
  /** 202s the load generator saw, the warmup's included. */
  answered202: number;
  /**
   * Conversions clicktrail accepted, from its inbound log: at least the 202s seen, plus requests
   * still in flight when the load generator stopped (their answers were cut off, not their work).
   */
  accepted: number;
  /** Of those, not yet signalled to their workflow (past the hand-over's cursor, or in a claim not finished) as the load ended. */
  queued: number;
  bad: number;
  atEndOfLoad: Counts;
  afterDrain: Counts;
  drained: boolean;
  drainSec: number;
  /**
   * Database rows written per accepted conversion, from the first postback until every conversion
   * was recorded and delivered: the intake's writes and the engine's (db-writes.ts). Null: not the local PostgreSQL.
   */
  dbWrites: WritesPerRequest[] | null;
}

// Small enough that the session workflows are all running before the postbacks start (the
// Temporal dev server starts a few dozen workflows per second on this machine).
const POOL = 300;

export async function runPostbackPhase(ctx: BenchContext, api: ServerChild): Promise<PostbackPhaseResult> {
  await settleEngine(ctx, '(e)');
  const e = await runBaselineE(ctx);
  try {
    return await runClicktrail(ctx, api, e);
  } finally {
    await e.stop();
  }
}

async function runClicktrail(ctx: BenchContext, api: ServerChild, e: BaselineE): Promise<PostbackPhaseResult> {
  const { args, fixture } = ctx;
  const { baseline, writesFrom } = e;
  const campaignId = fixture.campaigns.postback!.campaignId;
  const read = () => readCounts(ctx.temporal, ctx.sink, campaignId);

  // The click ids: made by real clicks, their workflows started before the postbacks begin.
  // Distinct visitors, none a bot or a duplicate: every pool session gets its workflow under either policy.
  // Each round has a pool of its own: a session that has counted a round's conversions already
  // records the next ones more slowly, which would be measured against the later rounds.
  let v = 0;
  const nextHeaders = () => visitorHeaders(visitor(v++, { bots: 0, duplicates: 0 }, 1));
  let ids: string[] = [];
  const earlier = new Set<string>();
  const newPool = async () => {
    for (const id of ids) earlier.add(id);
    await runLoad({ url: `${api.url}${clickPath(fixture, 'postback', 'pool')}`, connections: args.connections, durationSec: 0, amount: POOL, nextHeaders });
    const pool = await waitFor(read, (n) => n.sessionsStored >= earlier.size + POOL && n.workflowsStarted >= n.sessionsStored, args.drainTimeout);
    const all = await sessions()
      .find({ campaignId }, { projection: { _id: 1 } })
      .map((s) => s._id)
      .toArray();
    ids = all.filter((id) => !earlier.has(id));
    console.log(`  ${ids.length} click ids in the pool (${pool.counts.workflowsStarted} workflows started)`);
  };
  await newPool();

  let n = 0;
  const txidPrefix = `pb-${campaignId}-`;
  const nextPath = () => {
    const i = n++;
    return `/postback?click_id=${ids[i % ids.length]}&event=sale&amount=10.00&currency=EUR&txid=${txidPrefix}${i}&token=${fixture.token}`;
  };
  const url = `${api.url}/postback`;
  await settleEngine(ctx, 'the clicktrail postback run');
  // Also where (e)'s count ends: nothing has written to its database since.
  const writesBefore = await settledWrites(ctx.dataDir);
  if (writesFrom.snapshot && writesBefore) baseline.dbWrites = writesPerRequest(writesFrom.snapshot, writesBefore, BASELINE_DB, writesFrom.requests);
  const fixed = await atFixedRate(ctx, 'postback', url, nextPath);
  // The fixed-rate run's conversions are recorded and delivered before the saturated run, not during it.
  if (fixed.result) await settleEngine(ctx, 'the saturated clicktrail postback run');
  const warmup = args.warmup > 0 ? await runLoad({ url, connections: args.connections, durationSec: args.warmup, nextPath }) : null;
  const { result: load, cpu } = await withCpu(ctx, api, () => hotPathLoad(ctx, 'clicktrail postback', () => runLoad({ url, connections: args.connections, durationSec: args.duration, nextPath })), { run: 'postback', baseline: false });
  const answered202 = [...fixed.runs, warmup, load].reduce((n, l) => n + (l?.statusCodes['202'] ?? 0), 0);
  const bad = badOf(load);
  // Requests still in flight when the load generator stopped are accepted (or not) afterwards,
  // and the inbound log is written just after each answer: so the number accepted is read
  // again on every poll, and the counts must all settle on it.
  const ours = { outcome: 'accepted' as const, 'params.txid': { $regex: `^${txidPrefix}` } };
  const readAll = async () => ({ ...(await read()), accepted: await inbounds().countDocuments(ours) });
  const atEndOfLoad = await readAll();
  const queued = await inbounds().countDocuments({ ...ours, ...unsignalledConversions(await readConversionState()) });
  console.log(`  postback: ${load.rps} req/s, p99 ${load.latencyMs.p99} ms, ${bad} non-202/errors; waiting for the accepted conversions to be recorded and delivered…`);
  // Every 202 must become a recorded conversion and a delivered publisher postback.
  const settleConversions = async (answered: number) => {
    let previous = -1;
    const drain = await waitFor(
      readAll,
      (c) => {
        const settled = c.accepted === previous;
        previous = c.accepted;
        return settled && c.accepted >= answered && [c.conversionsRecorded, c.postbacksReceived, c.deliveriesLogged].every((n) => n === c.accepted);
      },
      args.drainTimeout,
    );
    const c = drain.counts;
    if (c.accepted < answered) ctx.failures.push(`postback: ${answered} answered 202 but only ${c.accepted} accepted in the inbound log`);
    if (c.conversionsRecorded !== c.accepted || c.postbacksReceived !== c.accepted || c.deliveriesLogged !== c.accepted) {
      ctx.failures.push(`postback: ${c.accepted} accepted, ${c.conversionsRecorded} conversions recorded, ${c.deliveriesLogged} deliveries logged, ${c.postbacksReceived} postbacks received`);
    }
    return drain;
  };
  const drain = await settleConversions(answered202);
  const c = drain.counts;
  const accepted = c.accepted;
  const writesAfter = writesBefore && (await settledWrites(ctx.dataDir));
  const dbWrites = writesBefore && writesAfter && accepted > 0 ? writesPerRequest(writesBefore, writesAfter, CLICKTRAIL_DB, accepted) : null;
  console.log(`  postback: ${accepted} accepted (${answered202} answers seen), ${c.conversionsRecorded} conversions recorded, ${c.postbacksReceived} postbacks delivered ${drain.drained ? `after ${drain.waitedSec} s` : `— NOT settled within ${args.drainTimeout} s`}`);

  const rounds = [roundOf(baseline.load, load)];
  if (args.rounds > 1 && drain.drained) {
    let answered = answered202;
    rounds.push(
      ...(await moreRounds(args.rounds, {
        baseline: e.again,
        clicktrail: async () => {
          await newPool();
          await settleEngine(ctx, 'the clicktrail postback run');
          const warm = args.warmup > 0 ? await runLoad({ url, connections: args.connections, durationSec: args.warmup, nextPath }) : null;
          const again = await hotPathLoad(ctx, 'clicktrail postback', () => runLoad({ url, connections: args.connections, durationSec: args.duration, nextPath }));
          console.log(`  postback: ${again.rps} req/s, p99 ${again.latencyMs.p99} ms, ${badOf(again)} non-202/errors`);
          answered += (warm?.statusCodes['202'] ?? 0) + (again.statusCodes['202'] ?? 0);
          await settleConversions(answered);
          return again;
        },
      })),
    );
  }
  return { baseline, poolSessions: ids.length, load, rounds: roundsOf(rounds), atFixedRate: fixed.result, cpu, answered202, accepted, queued, bad, atEndOfLoad, afterDrain: c, drained: drain.drained, drainSec: drain.waitedSec, dbWrites };
}

/**
 * Baseline (e): the same requests (pool of click ids, distinct txids, same connections and duration),
 * and the database's write counts before them (`writesFrom`), with the requests answered. The
 * server stays up for `again` (a later round's warmup and saturated run) until `stop`.
 */
interface BaselineE {
  baseline: PostbackBaselineResult;
  writesFrom: { snapshot: WriteSnapshot | null; requests: number };
  again: () => Promise<LoadResult>;
  stop: () => Promise<void>;
}

async function runBaselineE(ctx: BenchContext): Promise<BaselineE> {
  const { args } = ctx;
  const db = BASELINE_DB;
  const campaignId = `baseline-e-${uuidv7()}`;
  const ids = Array.from({ length: POOL }, () => uuidv7());
  const now = Date.now();
  await mongoose.connection
    .getClient()
    .db(db)
    .collection<{ _id: string }>('sessions')
    .insertMany(ids.map((_id) => ({ _id, campaignId, publisherId: ctx.fixture.publisherId, createdAt: new Date(now), expiresAt: new Date(now + 3_600_000), status: 'open' })));
  const server = await startServer(ctx, 'MongoDB-only postback (e)', serverScript('mongo-only-postback'), { BENCH_MONGO_URI: ctx.mongoUri(db) });
  let n = 0;
  const nextPath = () => {
    const i = n++;
    return `/postback?click_id=${ids[i % ids.length]}&event=sale&amount=10.00&currency=EUR&txid=${campaignId}-${i}&token=${ctx.fixture.token}`;
  };
  const url = `${server.url}/postback`;
  const writesBefore = await settledWrites(ctx.dataDir);
  const fixed = await atFixedRate(ctx, '(e)', url, nextPath);
  const warmup = args.warmup > 0 ? await runLoad({ url, connections: args.connections, durationSec: args.warmup, nextPath }) : null;
  const warmed = warmup?.statusCodes['202'] ?? 0;
  const { result: load, cpu } = await withCpu(ctx, server, () => hotPathLoad(ctx, '(e) MongoDB-only postback', () => runLoad({ url, connections: args.connections, durationSec: args.duration, nextPath })), { run: 'postback-baseline', baseline: true });
  const bad = badOf(load);
  console.log(`  (e) MongoDB-only postback: ${load.rps} req/s, p99 ${load.latencyMs.p99} ms, ${bad} non-202/errors`);
  const answered = [...fixed.runs, load].reduce((n, l) => n + (l.statusCodes['202'] ?? 0), warmed);
  const again = async () => {
    await settleEngine(ctx, '(e)');
    if (args.warmup > 0) await runLoad({ url, connections: args.connections, durationSec: args.warmup, nextPath });
    const l = await hotPathLoad(ctx, '(e) MongoDB-only postback', () => runLoad({ url, connections: args.connections, durationSec: args.duration, nextPath }));
    console.log(`  (e) MongoDB-only postback: ${l.rps} req/s, p99 ${l.latencyMs.p99} ms, ${badOf(l)} non-202/errors`);
    return l;
  };
  return {
    baseline: { load, atFixedRate: fixed.result, cpu, bad, dbWrites: null },
    writesFrom: { snapshot: answered > 0 ? writesBefore : null, requests: answered },
    again,
    stop: () => server.stop(),
  };
}

/** `--postback-rate`: a warmup and a measured run at that offered rate (every run returned, for the count of 202s). */
async function atFixedRate(ctx: BenchContext, label: string, url: string, nextPath: () => string): Promise<{ result: FixedRateResult | null; runs: LoadResult[] }> {
  const { args } = ctx;
  if (args.postbackRate <= 0) return { result: null, runs: [] };
  const at = (durationSec: number) => runLoad({ url, connections: args.connections, durationSec, overallRate: args.postbackRate, nextPath });
  const warmup = args.warmup > 0 ? await at(args.warmup) : null;
  const load = await at(args.duration);
  console.log(`  ${label} at ${args.postbackRate} req/s offered: p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, ${badOf(load)} non-202/errors`);
  return { result: { load, bad: badOf(load) }, runs: [...(warmup ? [warmup] : []), load] };
}

/** Answers other than 202, and requests without an answer. */
function badOf(load: LoadResult): number {
  return load.responses - (load.statusCodes['202'] ?? 0) + load.errors + load.timeouts;
}
