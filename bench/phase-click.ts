import type { ServerChild } from './children';
import { cpuLabels, hotPathLoad, settleEngine, serverScript, startServer, withCpu, type BenchContext, type ProfileAs } from './context';
import { cpuBetween, snapshotCpu, type CpuUsage } from './cpu';
import { readCounts, waitFor, workflowsExpected, type Counts } from './counts';
import { BASELINE_DB, CLICKTRAIL_DB, settledWrites, writesPerRequest, type WritesPerRequest } from './db-writes';
import { runLoad, type LoadResult } from './load';
import { rollupCostPerClick } from './rollup-cost';
import { moreRounds, roundOf, roundsOf, type Rounds } from './rounds';
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
  /** (b)'s and (c)'s saturated runs: the scenarios' own, then `--rounds` more, interleaved. */
  rounds: Rounds;
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
  // Every scenario sees the same visitors: distinct IPs, some bots, some duplicates (traffic-mix.ts);
  // a scenario's later rounds go on with its next visitors.
  const visitorsSeen = new Map<string, number>();
  const visitorsOf = (label: string) => () => {
    const v = visitorsSeen.get(label) ?? 0;
    visitorsSeen.set(label, v + 1);
    return visitorHeaders(visitor(v, { bots: args.bots, duplicates: args.duplicates }, 2));
  };
  const at = (server: ServerChild, nextHeaders: () => Record<string, string>, overallRate: number | undefined, durationSec: number) =>
    runLoad({ url: `${server.url}${path}`, connections: args.connections, durationSec, overallRate, nextHeaders });

  const measure = async (
    label: string,
    server: ServerChild,
    hooks: { afterWarmup?: () => Promise<void>; afterLoad?: () => Promise<void> } = {},
    profileAs?: ProfileAs,
    db?: string,
  ): Promise<ScenarioResult> => {
    const nextHeaders = visitorsOf(label);
    await settleEngine(ctx, label);
    const writesBefore = db ? await settledWrites(ctx.dataDir) : null;
    const labels = cpuLabels(ctx, server);
    const wholeBefore = snapshotCpu(labels);
    // The fixed rate first, on a server that has seen no saturating load: a backlog left by a burst
    // (workflow starts queued behind Temporal) would otherwise be measured as the click's latency.
    const fixedWarmup = args.clickRate > 0 && args.warmup > 0 ? await at(server, nextHeaders, args.clickRate, args.warmup) : null;
    const fixed = args.clickRate > 0 ? await at(server, nextHeaders, args.clickRate, args.duration) : null;
    // Nor is the saturated run charged with the fixed-rate run's engine work (its workflows' first tasks).
    if (fixed) await settleEngine(ctx, `the saturated run of ${label}`);
    const warmup = args.warmup > 0 ? await at(server, nextHeaders, undefined, args.warmup) : null;
    await hooks.afterWarmup?.();
    const { result: load, cpu } = await withCpu(ctx, server, () => hotPathLoad(ctx, label, () => at(server, nextHeaders, undefined, args.duration)), profileAs);
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
  scenarios.push(await measure('(b) MongoDB-only tracker', tracker, {}, { run: 'click-baseline', baseline: true }, BASELINE_DB));
  await tracker.stop();

  const api = await startServer(ctx, 'clicktrail API', serverScript('clicktrail'), { ...ctx.clicktrailEnv, ROLE: 'api' });
  const campaignId = fixture.campaigns.click!.campaignId;
  const before = { counts: null as Counts | null };
  let atEndOfLoad!: Counts;
  let drain!: Awaited<ReturnType<typeof waitFor<Counts>>>;
  const policy = args.workflowPolicy;
  const readClickCounts = () => readCounts(ctx.temporal, ctx.sink, campaignId);
  const drainWorkflows = () =>
    waitFor(readClickCounts, (n) => n.workflowsStarted >= workflowsExpected(n, policy) && n.sessionsHandedOver >= workflowsExpected(n, policy), args.drainTimeout);
  // Every click answered 302 must have its session stored; a missing one is a lost click.
  let redirects = 0;
  const checkStored = (stored: number) => {
    if (stored < redirects) ctx.failures.push(`click path: ${redirects} redirects answered but only ${stored} sessions stored`);
  };
  const c = await measure(
    '(c) clicktrail /c/{campaignId}',
    api,
    {
      afterWarmup: async () => {
        before.counts = await readClickCounts();
      },
      afterLoad: async () => {
        atEndOfLoad = await readClickCounts();
        console.log(`  clicktrail: ${atEndOfLoad.sessionsStored} sessions stored (${atEndOfLoad.sessionsFlagged} bot or duplicate), ${atEndOfLoad.workflowsStarted} workflows started by the end of the load; waiting for the rest (${policy})…`);
        drain = await drainWorkflows();
      },
    },
    { run: 'click', baseline: false },
    CLICKTRAIL_DB,
  );
  scenarios.push(c);
  console.log(`  clicktrail: ${drain.counts.workflowsStarted}/${workflowsExpected(drain.counts, policy)} workflows started ${drain.drained ? `after ${drain.waitedSec} s more` : `— NOT drained within ${args.drainTimeout} s`}`);
  redirects = c.warmupRedirects + (c.load.statusCodes['302'] ?? 0);
  checkStored(atEndOfLoad.sessionsStored);
  // What the report says of the workflows is round 1's; later rounds only add to the ledger.
  const firstRound = { redirects, drain };

  const rounds = [roundOf(scenarios[1]!.load, c.load)];
  if (args.rounds > 1 && drain.drained) {
    // The scenario's saturated run again: its warmup, the measured run; for clicktrail its workflows
    // started before anything else is measured, as in round 1.
    const saturate = async (label: string, server: ServerChild) => {
      const nextHeaders = visitorsOf(label);
      await settleEngine(ctx, label);
      const warmup = args.warmup > 0 ? await at(server, nextHeaders, undefined, args.warmup) : null;
      const load = await hotPathLoad(ctx, label, () => at(server, nextHeaders, undefined, args.duration));
      console.log(`  ${label}: ${load.rps} req/s, p99 ${load.latencyMs.p99} ms`);
      return { load, redirected: (warmup?.statusCodes['302'] ?? 0) + (load.statusCodes['302'] ?? 0) };
    };
    const again = await startServer(ctx, 'MongoDB-only tracker', serverScript('mongo-only-tracker'), { BENCH_MONGO_URI: ctx.mongoUri(BASELINE_DB) });
    try {
      rounds.push(
        ...(await moreRounds(args.rounds, {
          baseline: async () => (await saturate('(b) MongoDB-only tracker', again)).load,
          clicktrail: async () => {
            const r = await saturate('(c) clicktrail /c/{campaignId}', api);
            redirects += r.redirected;
            checkStored((await readClickCounts()).sessionsStored);
            drain = await drainWorkflows();
            return r.load;
          },
        })),
      );
    } finally {
      await again.stop();
    }
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
      rounds: roundsOf(rounds),
      ratios: {
        rpsCoverA: ratio(c.load.rps, a.load.rps),
        rpsCoverB: ratio(c.load.rps, b.load.rps),
        p99CoverA: ratio(c.load.latencyMs.p99, a.load.latencyMs.p99),
        p99CoverB: ratio(c.load.latencyMs.p99, b.load.latencyMs.p99),
      },
      workflows: {
        redirects: firstRound.redirects,
        atEndOfLoad,
        afterDrain: firstRound.drain.counts,
        drained: firstRound.drain.drained,
        drainSec: firstRound.drain.waitedSec,
        startedPerSecDuringLoad: Math.round((atEndOfLoad.workflowsStarted - (before.counts?.workflowsStarted ?? 0)) / c.load.durationSec),
      },
      rollupWriter,
    },
  };
}
