import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { BenchArgs } from './args';
import { watchAutovacuum, type AutovacuumWindow } from './autovacuum';
import { freeze, type CoreLayout } from './layout';
import { startChild, type ServerChild } from './children';
import { cpuBetween, snapshotCpu, type CpuUsage } from './cpu';
import type { LoadResult } from './load';
import type { BenchFixture } from './seed';
import type { PostbackSink } from './sink';
import { watchYield } from './yield-watch';

// What every phase shares: the running stack, the clicktrail worker, the fixture, the sink,
// and how to start a server under test and measure CPU around a run.

export interface BenchContext {
  args: BenchArgs;
  dataDir: string;
  fixture: BenchFixture;
  sink: PostbackSink;
  temporal: Client;
  temporalAddress: string;
  /** Where processes run (null: unpinned); see layout.ts. */
  layout: CoreLayout | null;
  /** Temporal dev server and FerretDB processes. */
  stackPids: { temporal?: number; ferretdb?: number; postgres?: number };
  worker: ServerChild;
  /** The worker's /metrics (its METRICS_PORT), for how long its hand-over yielded; null: not exposed. */
  workerMetricsUrl: string | null;
  /** Environment for a clicktrail process (API or worker). */
  clicktrailEnv: Record<string, string>;
  mongoUri: (db: string) => string;
  /** Failures that make the bench exit non-zero (loss, mismatched counts). */
  failures: string[];
  /** Every hot path's measured run, in order, with what autovacuum did meanwhile (local PostgreSQL only). */
  hotRuns: HotRun[];
  /** Processes to stop at the end, whatever happens. */
  onStop(stop: () => Promise<void>): void;
}

export function serverScript(name: 'bare-redirect' | 'mongo-only-tracker' | 'mongo-only-postback' | 'clicktrail' | 'engine-ceiling'): string {
  return path.join(__dirname, 'servers', `${name}.js`);
}

/** A server under test, on the load generator's core. */
export function startServer(ctx: BenchContext, name: string, script: string, env: Record<string, string>, execArgv: string[] = []): Promise<ServerChild> {
  return start(ctx, name, script, env, execArgv, ctx.layout?.serverCpu);
}

/** A process of the engine (the clicktrail worker, baseline (d)), on the engine's core. */
export function engineServer(ctx: BenchContext, name: string, script: string, env: Record<string, string>): Promise<ServerChild> {
  return start(ctx, name, script, env, [], ctx.layout?.engineCpu);
}

async function start(ctx: BenchContext, name: string, script: string, env: Record<string, string>, execArgv: string[], cpu: number | undefined): Promise<ServerChild> {
  const child = await startChild({ name, script, env, execArgv, logFile: path.join(ctx.dataDir, `${name.replace(/\W+/g, '-')}.log`), cpu });
  ctx.onStop(() => child.stop());
  return child;
}

/** What a profiled run's files are named after; a baseline's run profiles the baseline server alone (no clicktrail worker). */
export interface ProfileAs {
  run: string;
  baseline: boolean;
}

/**
 * Runs `fn` and reports the CPU each process used meanwhile; with --profile, the server (and for
 * clicktrail the worker) are CPU-profiled over exactly this window (`profileAs` names the files).
 */
export async function withCpu<T>(
  ctx: BenchContext,
  server: ServerChild | null,
  fn: () => Promise<T>,
  profileAs?: ProfileAs,
): Promise<{ result: T; cpu: CpuUsage }> {
  const profiled = ctx.args.profile && profileAs ? [server, profileAs.baseline ? null : ctx.worker].filter((c): c is ServerChild => !!c) : [];
  await Promise.all(profiled.map((c) => c.profile('start')));
  const labels = cpuLabels(ctx, server);
  const before = snapshotCpu(labels);
  const result = await fn();
  const cpu = cpuBetween(before, snapshotCpu(labels));
  await Promise.all(profiled.map((c) => c.profile('stop', profileFile(ctx, profileAs!.run, profileAs!.baseline ? null : c === ctx.worker ? 'worker' : 'api'))));
  return { result, cpu };
}

export interface HotRun {
  label: string;
  /** When it started, ms since the epoch. */
  startedAt: number;
  rps: number;
  /** Null: the database is not the local PostgreSQL. */
  autovacuum: AutovacuumWindow | null;
  /** The share of the run the worker's hand-over yielded to the hot paths (null: not read). */
  handoverYielding: number | null;
}

/**
 * A hot path's measured load; under the experiment `--engine-priority stopped` the Temporal server
 * and the worker are frozen meanwhile (no engine work at all), and resume after it. Recorded in
 * `ctx.hotRuns` with autovacuum's work meanwhile: PostgreSQL vacuums a table some time after many
 * inserts, at normal priority on the database's core, whichever run comes next.
 */
export async function hotPathLoad(ctx: BenchContext, label: string, fn: () => Promise<LoadResult>): Promise<LoadResult> {
  const engine = ctx.args.enginePriority === 'stopped' ? [ctx.worker?.pid, ctx.stackPids.temporal] : [];
  const watcher = ctx.stackPids.postgres ? watchAutovacuum(path.join(ctx.dataDir, 'postgresql')) : null;
  const from = Date.now();
  for (const pid of engine) freeze(pid, true);
  // A frozen worker answers no /metrics.
  const yielding = watchYield(engine.length ? null : ctx.workerMetricsUrl);
  let load: LoadResult;
  let autovacuum: AutovacuumWindow | null = null;
  let handoverYielding: number | null = null;
  try {
    load = await fn();
  } finally {
    // Also when the load throws: the sampler, the watcher and the frozen engine are let go.
    autovacuum = watcher?.window(from, Date.now()) ?? null;
    handoverYielding = await yielding.stop();
    watcher?.stop();
    for (const pid of engine) freeze(pid, false);
  }
  ctx.hotRuns.push({ label, startedAt: from, rps: load.rps, autovacuum, handoverYielding });
  if (handoverYielding !== null) console.log(`  (the hand-over yielded to the hot paths during ${Math.round(handoverYielding * 100)}% of the ${label} run)`);
  if (autovacuum?.busyShare) console.log(`  (autovacuum ran during ${Math.round(autovacuum.busyShare * 100)}% of that run: ${autovacuum.work.join('; ')})`);
  return load;
}

/** The processes whose CPU a run reports, by name. */
export function cpuLabels(ctx: BenchContext, server: ServerChild | null): Record<string, number | undefined> {
  return {
    'load generator': process.pid,
    ...(server ? { [server.name]: server.pid } : {}),
    ...(ctx.worker ? { 'clicktrail worker': ctx.worker.pid } : {}),
    'Temporal server': ctx.stackPids.temporal,
    FerretDB: ctx.stackPids.ferretdb,
    ...(ctx.stackPids.postgres ? { PostgreSQL: ctx.stackPids.postgres } : {}),
  };
}

/** `<name>-<run>-api|worker.cpuprofile`; a baseline's (one server) has no role. */
export function profileFile(ctx: BenchContext, run: string, role: 'api' | 'worker' | null): string {
  return path.join(ctx.args.outDir, 'profiles', `${ctx.args.name}-${run}${role ? `-${role}` : ''}.cpuprofile`);
}

/** The engine counts as idle below this share of one core (worker, Temporal server and the database together). */
const QUIET_ENGINE_PCT = 10;

/**
 * Waits (at most `maxSec`) until the engine has finished what an earlier run left it (workflow
 * tasks, timers firing, deliveries): a measured run, a baseline's above all, must not share the
 * engine core with the previous run's backlog. Returns the seconds waited, and whether it got quiet.
 */
export async function engineQuiet(ctx: BenchContext, maxSec = 120): Promise<{ waitedSec: number; quiet: boolean }> {
  // The database too: the worker's background work (the rollup writer recomputing a burst's
  // quarter-hours) runs in database backends at normal priority, long after the worker looks idle.
  const labels = { worker: ctx.worker?.pid, temporal: ctx.stackPids.temporal, ferretdb: ctx.stackPids.ferretdb, postgres: ctx.stackPids.postgres };
  const t0 = Date.now();
  for (;;) {
    const before = snapshotCpu(labels);
    await new Promise((r) => setTimeout(r, 1_000));
    const used = cpuBetween(before, snapshotCpu(labels));
    const busy = Object.values(used.processes).reduce((sum, pct) => sum + (pct ?? 0), 0);
    const waitedSec = Math.round((Date.now() - t0) / 100) / 10;
    if (busy < QUIET_ENGINE_PCT) return { waitedSec, quiet: true };
    if (waitedSec >= maxSec) return { waitedSec, quiet: false };
  }
}

/** engineQuiet before a measured run, saying so when it had to wait. */
export async function settleEngine(ctx: BenchContext, before: string): Promise<void> {
  const q = await engineQuiet(ctx);
  if (q.waitedSec > 1.5) console.log(`  (waited ${q.waitedSec} s for the engine to finish earlier work before ${before}${q.quiet ? '' : ': still busy, measured anyway'})`);
}
