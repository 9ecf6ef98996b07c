import type { ServerChild } from './children';
import { withCpu, type BenchContext } from './context';
import type { CpuUsage } from './cpu';
import { readCounts, waitFor, type Counts } from './counts';
import { CLICKTRAIL_DB, settledWrites, writesPerRequest, type WriteSnapshot, type WritesPerRequest } from './db-writes';
import { deliveryLatency, driveSessions, type EndToEndTraffic } from './end-to-end';
import type { LoadResult } from './load';
import { watchYield } from './yield-watch';

// End to end, one stage per offered rate: click → postback → publisher postback delivered, and
// the loss ledger. Every count must equal the number of sessions offered; any difference is
// loss and fails the bench.

export interface LedgerLine {
  what: string;
  count: number;
}

export interface EndToEndStage {
  campaign: string;
  sessions: number;
  offeredRate: number;
  sendSec: number;
  sustainedPerSec: number;
  clickLatencyMs: LoadResult['latencyMs'];
  postbackLatencyMs: LoadResult['latencyMs'];
  deliveryLatencyMs: LoadResult['latencyMs'];
  /** Seconds from the last postback sent until the last delivery arrived. */
  drainSec: number;
  drained: boolean;
  ledger: LedgerLine[];
  lossless: boolean;
  /** Postbacks answered `503` and sent again after their `Retry-After` (not loss: nothing was accepted). */
  postbacksRetried: number;
  cpu: CpuUsage;
  /** The share of the stage (load and drain) in which the hand-over yielded to the hot paths (null: not read). */
  handoverYielding: number | null;
  /** Rows the database wrote per session, from the stage's first click until its last delivery (null: not the local PostgreSQL). */
  dbWrites: WritesPerRequest[] | null;
  failures: string[];
}

/**
 * `writesBefore`: the database's write counts as the stage starts, if already read (the previous
 * stage's `writesAfter`: reading settled counts takes STATS_SETTLE_MS).
 */
export async function runEndToEndStage(
  ctx: BenchContext,
  api: ServerChild,
  campaign: string,
  rate: number,
  stream: number,
  writesBefore?: WriteSnapshot | null,
): Promise<EndToEndStage & { writesAfter: WriteSnapshot | null }> {
  const { args, fixture, sink } = ctx;
  const before = writesBefore === undefined ? await settledWrites(ctx.dataDir) : writesBefore;
  const campaignId = fixture.campaigns[campaign]!.campaignId;
  // Long enough at any rate for the pipeline to reach its steady state.
  const n = args.sessions ?? Math.max(60, Math.round(rate * 8));
  let traffic!: EndToEndTraffic;
  let drain!: { counts: Counts; drained: boolean; waitedSec: number };
  const yielding = watchYield(ctx.workerMetricsUrl);
  let handoverYielding: number | null;
  let cpu: Awaited<ReturnType<typeof withCpu>>['cpu'];
  try {
    ({ cpu } = await withCpu(ctx, api, async () => {
      traffic = await driveSessions({ apiUrl: api.url!, fixture, campaign, sessions: n, rate, sink, mix: { bots: args.bots, duplicates: args.duplicates }, stream });
      drain = await waitFor(
        () => readCounts(ctx.temporal, sink, campaignId),
        (c) => c.postbacksReceived >= n && c.deliveriesLogged >= n && c.workflowsStarted >= n && c.conversionsRecorded >= n,
        args.drainTimeout,
      );
    }, { run: `e2e-${rate}`, baseline: false }));
  } finally {
    handoverYielding = await yielding.stop();
  }
  const writesAfter = before ? await settledWrites(ctx.dataDir) : null;
  const c = drain.counts;
  const delivered = deliveryLatency(traffic, sink);
  const ledger: LedgerLine[] = [
    { what: 'sessions offered', count: n },
    { what: 'redirects answered (302 with a click id)', count: traffic.redirects },
    { what: 'sessions stored (MongoDB)', count: c.sessionsStored },
    { what: 'workflows started (Temporal)', count: c.workflowsStarted },
    { what: 'sessions handed over (per the hand-over\'s state)', count: c.sessionsHandedOver },
    { what: 'postbacks accepted (202)', count: traffic.postbacksAccepted },
    { what: 'conversions recorded (MongoDB)', count: c.conversionsRecorded },
    { what: 'deliveries logged as delivered', count: c.deliveriesLogged },
    { what: 'publisher postbacks received by the sink', count: c.postbacksReceived },
    { what: 'sessions whose postback arrived', count: delivered.delivered },
  ];
  const lossless = ledger.every((l) => l.count === n);
  const failures = [...traffic.failures.slice(0, 10)];
  if (!lossless) {
    failures.unshift(`end to end at ${rate}/s: the ledger does not balance: ${ledger.filter((l) => l.count !== n).map((l) => `${l.what} ${l.count}`).join(', ')} (expected ${n} each)`);
    ctx.failures.push(failures[0]!);
  }
  console.log(
    `  e2e ${rate}/s: ${delivered.delivered}/${n} delivered, ${delivered.sustainedPerSec} sessions/s sustained, click→delivery p50 ${delivered.latencyMs.p50} ms p99 ${delivered.latencyMs.p99} ms${handoverYielding ? `, the hand-over yielded ${Math.round(handoverYielding * 100)}% of the stage` : ''}${traffic.postbacksRetried ? `, ${traffic.postbacksRetried} postbacks answered 503 and sent again` : ''}${lossless ? '' : ' — LOSS'}`,
  );
  return {
    campaign,
    sessions: n,
    offeredRate: rate,
    sendSec: traffic.sendSec,
    sustainedPerSec: delivered.sustainedPerSec,
    clickLatencyMs: traffic.clickLatencyMs,
    postbackLatencyMs: traffic.postbackLatencyMs,
    deliveryLatencyMs: delivered.latencyMs,
    drainSec: drain.waitedSec,
    drained: drain.drained,
    ledger,
    lossless,
    postbacksRetried: traffic.postbacksRetried,
    cpu,
    handoverYielding,
    dbWrites: before && writesAfter ? writesPerRequest(before, writesAfter, CLICKTRAIL_DB, n) : null,
    failures,
    writesAfter,
  };
}
