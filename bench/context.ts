import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { BenchArgs } from './args';
import { startChild, type ServerChild } from './children';
import { cpuBetween, snapshotCpu, type CpuUsage } from './cpu';
import type { BenchFixture } from './seed';
import type { PostbackSink } from './sink';

// What every phase shares: the running stack, the clicktrail worker, the fixture, the sink,
// and how to start a server under test and measure CPU around a run.

export interface BenchContext {
  args: BenchArgs;
  dataDir: string;
  fixture: BenchFixture;
  sink: PostbackSink;
  temporal: Client;
  /** Temporal dev server and FerretDB processes. */
  stackPids: { temporal?: number; ferretdb?: number; postgres?: number };
  worker: ServerChild;
  /** Environment for a clicktrail process (API or worker). */
  clicktrailEnv: Record<string, string>;
  mongoUri: (db: string) => string;
  /** Failures that make the bench exit non-zero (loss, mismatched counts). */
  failures: string[];
  /** Processes to stop at the end, whatever happens. */
  onStop(stop: () => Promise<void>): void;
}

export function serverScript(name: 'bare-redirect' | 'mongo-only-tracker' | 'clicktrail'): string {
  return path.join(__dirname, 'servers', `${name}.js`);
}

export async function startServer(
  ctx: BenchContext,
  name: string,
  script: string,
  env: Record<string, string>,
  execArgv: string[] = [],
): Promise<ServerChild> {
  const child = await startChild({
    name,
    script,
    env,
    execArgv,
    logFile: path.join(ctx.dataDir, `${name.replace(/\W+/g, '-')}.log`),
    cpu: ctx.args.pin ? 1 : undefined,
  });
  ctx.onStop(() => child.stop());
  return child;
}

/**
 * Runs `fn` and reports the CPU each process used meanwhile; with --profile, the clicktrail
 * API and worker are CPU-profiled over exactly this window (`profileAs` names the files).
 */
export async function withCpu<T>(
  ctx: BenchContext,
  server: ServerChild | null,
  fn: () => Promise<T>,
  profileAs?: string,
): Promise<{ result: T; cpu: CpuUsage }> {
  const profiled = ctx.args.profile && profileAs ? [server, ctx.worker].filter((c): c is ServerChild => !!c) : [];
  await Promise.all(profiled.map((c) => c.profile('start')));
  const labels = {
    'load generator': process.pid,
    ...(server ? { [server.name]: server.pid } : {}),
    'clicktrail worker': ctx.worker.pid,
    'Temporal server': ctx.stackPids.temporal,
    FerretDB: ctx.stackPids.ferretdb,
    ...(ctx.stackPids.postgres ? { PostgreSQL: ctx.stackPids.postgres } : {}),
  };
  const before = snapshotCpu(labels);
  const result = await fn();
  const cpu = cpuBetween(before, snapshotCpu(labels));
  await Promise.all(profiled.map((c) => c.profile('stop', profileFile(ctx, profileAs!, c === ctx.worker ? 'worker' : 'api'))));
  return { result, cpu };
}

export function profileFile(ctx: BenchContext, run: string, role: 'api' | 'worker'): string {
  return path.join(ctx.args.outDir, 'profiles', `${ctx.args.name}-${run}-${role}.cpuprofile`);
}
