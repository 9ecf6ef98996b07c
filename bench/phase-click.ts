import type { ServerChild } from './children';
import { cpuLabels, hotPathLoad, settleEngine, serverScript, startServer, withCpu, type BenchContext } from './context';
import { cpuBetween, snapshotCpu, type CpuUsage } from './cpu';
import { readCounts, waitFor, workflowsExpected, type Counts } from './counts';
import { BASELINE_DB, CLICKTRAIL_DB, settledWrites, writesPerRequest, type WritesPerRequest } from './db-writes';
import { runLoad, type LoadResult } from './load';
import { rollupCostPerClick } from './rollup-cost';
import { clickPath } from './seed';
import { visitor, visitorHeaders } from './traffic-mix';

// The click path: the same load (duration, connections, URL shape) against (a) a bare express
// 302, (b) a MongoDB-only tracker, (c) clicktrail's /c/{campaignId}. Each runs in its own
// process; the bench process only generates load.

export interface ScenarioResult {
  label: string;
  load: LoadResult;
  cpu: CpuUsage;
  /** Answers other than 302, and requests without an answer. */
  bad: number;
  /** 302s answered during the unmeasured warmup and the fixed-rate run. */
  warmupRedirects: number;
  /** The same scenario at a fixed offered rate (`--click-rate`), measured before the saturating run. */
  atFixedRate: { load: LoadResult; bad: number } | null;
  /**
   * CPU over the whole scenario, from the first request of the fixed-rate run to the end of the
   * saturating one, or for clicktrail to the end of its workflow backlog, with the requests
   * answered meanwhile: the cost of a click including the work it leaves for later.
   */
  whole: { cpu: CpuUsage; responses: number };
  /**
   * Database rows written per click redirected over the same span (db-writes.ts), for the
   * scenarios that write; null for the bare 302, or when the database is not the local PostgreSQL.
   */
  dbWrites: WritesPerRequest[] | null;
}

export interface ClickPhaseResult {
  scenarios: ScenarioResult[];
  ratios: { rpsCoverA: number; rpsCoverB: number; p99CoverA: number; p99CoverB: number };
  /** clicktrail's session workflows: started by the end of the load, and how long the rest took. */
  workflows: {
    redirects: number;
    atEndOfLoad: Counts;
    afterDrain: Counts;
    drained: boolean;
    drainSec: number;
    startedPerSecDuringLoad: number;
  };
  /** The rollup writer's work per click (rollup-cost.ts), on the quarter-hours this phase's clicks are in. */
  rollupWriter: { msPerClick: number | null; clicks: number };
}

export async function runClickPhase(ctx: BenchContext): Promise<{ result: ClickPhaseResult; api: ServerChild }> {
  const { args, fixture } = ctx;
  const path = clickPath(fixture, 'click', 'bench');
  const scenarios: ScenarioResult[] = [];

  const measure = async (
    label: string,
    server: ServerChild,
    hooks: { afterWarmup?: () => Promise<void>; afterLoad?: () => Promise<void> } = {},
    profileAs?: string,
    db?: string,
  ): Promise<ScenarioResult> => {
    const url = `${server.url}${path}`;
    // Every scenario sees the same visitors: distinct IPs, some bots, some duplicates (traffic-mix.ts).
    let v = 0;
    const nextHeaders = () => visitorHeaders(visitor(v++, { bots: args.bots, duplicates: args.duplicates }, 2));
    await settleEngine(ctx, label);
    const writesBefore = db ? await settledWrites(ctx.dataDir) : null;
    const labels = cpuLabels(ctx, server);
    const wholeBefore = snapshotCpu(labels);
    // The fixed rate first, on a server that has seen no saturating load: a backlog left by a burst
    // (workflow starts queued behind Temporal) would otherwise be measured as the click's latency.
    const at = (overallRate: number | undefined, durationSec: number) => runLoad({ url, connections: args.connections, durationSec, overallRate, nextHeaders });
    const fixedWarmup = args.clickRate > 0 && args.warmup > 0 ? await at(args.clickRate, args.warmup) : null;
    const fixed = args.clickRate > 0 ? await at(args.clickRate, args.duration) : null;
    const warmup = args.warmup > 0 ? await at(undefined, args.warmup) : null;
    await hooks.afterWarmup?.();
    const { result: load, cpu } = await withCpu(
      ctx,
      server,
      () => hotPathLoad(ctx, () => runLoad({ url, connections: args.connections, durationSec: args.duration, nextHeaders })),
      profileAs,
    );
    await hooks.afterLoad?.();
    const whole = { cpu: cpuBetween(wholeBefore, snapshotCpu(labels)), responses: [fixedWarmup, fixed, warmup, load].reduce((n, l) => n + (l?.responses ?? 0), 0) };
    const warmupRedirects = [fixedWarmup, fixed, warmup].reduce((n, l) => n + (l?.statusCodes['302'] ?? 0), 0);
    const redirected = warmupRedirects + (load.statusCodes['302'] ?? 0);
    const writesAfter = writesBefore ? await settledWrites(ctx.dataDir) : null;
    const dbWrites = db && writesBefore && writesAfter && redirected > 0 ? writesPerRequest(writesBefore, writesAfter, db, redirected) : null;
    const badOf = (l: LoadResult) => l.responses - (l.statusCodes['302'] ?? 0) + l.errors + l.timeouts;
    const bad = badOf(load);
    if (fixed) console.log(`  ${label} at ${args.clickRate} req/s offered: p50 ${fixed.latencyMs.p50} ms, p99 ${fixed.latencyMs.p99} ms, ${badOf(fixed)} non-302/errors`);
    console.log(`  ${label}: ${load.rps} req/s, p99 ${load.latencyMs.p99} ms, ${bad} non-302/errors`);
    return {
      label,
      load,
      cpu,
      bad,
      warmupRedirects,
      atFixedRate: fixed ? { load: fixed, bad: badOf(fixed) } : null,
      whole,
      dbWrites,
    };
  };

  const bare = await startServer(ctx, 'bare 302 server', serverScript('bare-redirect'), {});
  scenarios.push(await measure('(a) bare 302 (express)', bare));
  await bare.stop();

  const tracker = await startServer(ctx, 'MongoDB-only tracker', serverScript('mongo-only-tracker'), { BENCH_MONGO_URI: ctx.mongoUri(BASELINE_DB) });
  scenarios.push(await measure('(b) MongoDB-only tracker', tracker, {}, 'click-baseline', BASELINE_DB));
  await tracker.stop();

  const api = await startServer(ctx, 'clicktrail API', serverScript('clicktrail'), { ...ctx.clicktrailEnv, ROLE: 'api' });
  const campaignId = fixture.campaigns.click!.campaignId;
  const before = { counts: null as Counts | null };
  let atEndOfLoad!: Counts;
  let drain!: Awaited<ReturnType<typeof waitFor<Counts>>>;
  const policy = args.workflowPolicy;
  const c = await measure(
    '(c) clicktrail /c/{campaignId}',
    api,
    {
      afterWarmup: async () => {
        before.counts = await readCounts(ctx.temporal, ctx.sink, campaignId);
      },
      afterLoad: async () => {
        atEndOfLoad = await readCounts(ctx.temporal, ctx.sink, campaignId);
        console.log(`  clicktrail: ${atEndOfLoad.sessionsStored} sessions stored (${atEndOfLoad.sessionsFlagged} bot or duplicate), ${atEndOfLoad.workflowsStarted} workflows started by the end of the load; waiting for the rest (${policy})…`);
        drain = await waitFor(
          () => readCounts(ctx.temporal, ctx.sink, campaignId),
          (n) => n.workflowsStarted >= workflowsExpected(n, policy) && n.sessionsHandedOver >= workflowsExpected(n, policy),
          args.drainTimeout,
        );
      },
    },
    'click',
    CLICKTRAIL_DB,
  );
  scenarios.push(c);
  console.log(`  clicktrail: ${drain.counts.workflowsStarted}/${workflowsExpected(drain.counts, policy)} workflows started ${drain.drained ? `after ${drain.waitedSec} s more` : `— NOT drained within ${args.drainTimeout} s`}`);

  // Every click answered 302 must have its session stored; a missing one is a lost click.
  const redirects = c.warmupRedirects + (c.load.statusCodes['302'] ?? 0);
  if (atEndOfLoad.sessionsStored < redirects) {
    ctx.failures.push(`click path: ${redirects} redirects answered but only ${atEndOfLoad.sessionsStored} sessions stored`);
  }
  if (!drain.drained) {
    ctx.failures.push(`click path: ${workflowsExpected(drain.counts, policy) - drain.counts.workflowsStarted} session workflows still not started ${args.drainTimeout} s after the load`);
  }

  // After the workflows: the writer's recompute then has the engine core's database to itself.
  const rollupWriter = await rollupCostPerClick();
  console.log(`  rollup writer: ${rollupWriter.msPerClick ?? 'n/a'} ms per click (${rollupWriter.clicks} clicks recomputed)`);

  const [a, b] = scenarios as [ScenarioResult, ScenarioResult, ScenarioResult];
  const ratio = (x: number, y: number) => Math.round((x / y) * 1000) / 1000;
  return {
    api,
    result: {
      scenarios,
      ratios: {
        rpsCoverA: ratio(c.load.rps, a.load.rps),
        rpsCoverB: ratio(c.load.rps, b.load.rps),
        p99CoverA: ratio(c.load.latencyMs.p99, a.load.latencyMs.p99),
        p99CoverB: ratio(c.load.latencyMs.p99, b.load.latencyMs.p99),
      },
      workflows: {
        redirects,
        atEndOfLoad,
        afterDrain: drain.counts,
        drained: drain.drained,
        drainSec: drain.waitedSec,
        startedPerSecDuringLoad: Math.round((atEndOfLoad.workflowsStarted - (before.counts?.workflowsStarted ?? 0)) / c.load.durationSec),
      },
      rollupWriter,
    },
  };
}
