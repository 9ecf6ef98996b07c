import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_TEMPORAL_TUNING, freePort, startLocalStack, type TemporalTuning } from '../src/local-stack/local-stack';
import type { BenchArgs, EngineAbName } from './args';
import type { BenchContext } from './context';
import type { CpuUsage } from './cpu';
import { cpuMsPer } from './cpu';
import { pinTree, type CoreLayout } from './layout';
import { runCeilingPhase } from './phase-ceiling';
import type { CeilingStageResult } from './servers/engine-ceiling';

// `--only engine-ab`: each dev-server and worker setting against the defaults main had before
// this A/B (the CLI's search-attribute cache refresh on, SQLite file with WAL and
// synchronous=normal, shardIOConcurrency 1, the SDK's worker defaults). Every variant gets a fresh
// Temporal dev server (no database: baseline (d) needs none) on the engine core and one stage of
// baseline (d) offered above its capacity: sessions over the time from the first start to the
// last delivery is the engine's throughput under that setting. Rounds repeat every variant, so
// that a neighbour's burst on a shared machine shows as spread instead of as a verdict.

export interface EngineAbVariant {
  ab: EngineAbName;
  label: string;
  tuning: Partial<TemporalTuning>;
  inMemory?: boolean;
  workerEnv?: Record<string, string>;
}

export interface EngineAbResult {
  round: number;
  variant: EngineAbVariant;
  stage: CeilingStageResult & { cpu: CpuUsage };
  cpuMsPerSession: number;
}

/** What main ran before this A/B. */
const BEFORE: TemporalTuning = { forceSearchAttributesCacheRefreshOnRead: true, sqliteSynchronous: 'normal', shardIOConcurrency: 1 };

export const ENGINE_AB_VARIANTS: EngineAbVariant[] = [
  { ab: 'search-attribute-cache', label: 'cache refresh forced on every read (CLI default)', tuning: BEFORE },
  { ab: 'search-attribute-cache', label: 'forceSearchAttributesCacheRefreshOnRead=false', tuning: { ...BEFORE, forceSearchAttributesCacheRefreshOnRead: false } },
  { ab: 'sqlite', label: 'SQLite file, WAL, synchronous=normal', tuning: { ...DEFAULT_TEMPORAL_TUNING, sqliteSynchronous: 'normal' } },
  { ab: 'sqlite', label: 'SQLite file, WAL, synchronous=off', tuning: { ...DEFAULT_TEMPORAL_TUNING, sqliteSynchronous: 'off' } },
  { ab: 'sqlite', label: 'SQLite in memory', tuning: DEFAULT_TEMPORAL_TUNING, inMemory: true },
  { ab: 'shard-io', label: 'history.shardIOConcurrency=1', tuning: { ...DEFAULT_TEMPORAL_TUNING, shardIOConcurrency: 1 } },
  { ab: 'shard-io', label: 'history.shardIOConcurrency=4', tuning: { ...DEFAULT_TEMPORAL_TUNING, shardIOConcurrency: 4 } },
  { ab: 'worker', label: 'worker: SDK defaults', tuning: DEFAULT_TEMPORAL_TUNING },
  {
    ab: 'worker',
    label: 'worker: autoscaling pollers, non-sticky ratio 0.5, 500 cached workflows',
    tuning: DEFAULT_TEMPORAL_TUNING,
    workerEnv: { WORKER_WORKFLOW_POLLERS: 'autoscaling', WORKER_NON_STICKY_POLL_RATIO: '0.5', WORKER_MAX_CACHED_WORKFLOWS: '500' },
  },
];

export async function runEngineAb(opts: {
  args: BenchArgs;
  layout: CoreLayout | null;
  dataDir: string;
  /** The offered rate of the one stage: above what any variant keeps. */
  rate: number;
  rounds: number;
  onStop(stop: () => Promise<void>): void;
}): Promise<EngineAbResult[]> {
  const results: EngineAbResult[] = [];
  const variants = ENGINE_AB_VARIANTS.filter((v) => opts.args.engineAb.includes(v.ab));
  for (let round = 1; round <= opts.rounds; round++) for (const [i, variant] of variants.entries()) {
    const dataDir = path.join(opts.dataDir, `ab-${round}-${i}`);
    mkdirSync(dataDir, { recursive: true });
    const stack = await startLocalStack({ temporalPort: await freePort(), temporalUiPort: null, mongoPort: null, dataDir, temporalInMemory: variant.inMemory, temporalTuning: variant.tuning });
    const stops: (() => Promise<void>)[] = [];
    opts.onStop(() => stack.stop());
    try {
      const temporalPid = stack.processes().find((p) => p.name === 'temporal')?.pid;
      if (opts.layout && temporalPid) pinTree(temporalPid, opts.layout.engineCpu);
      const ctx = {
        args: { ...opts.args, ceilingRate: opts.rate },
        dataDir,
        temporalAddress: stack.temporalAddress,
        layout: opts.layout,
        stackPids: { temporal: temporalPid },
        worker: null as never,
        onStop: (stop: () => Promise<void>) => stops.push(stop),
      } as unknown as BenchContext;
      const phase = await runCeilingPhase(ctx, { log: false, stages: 1, env: variant.workerEnv });
      const stage = phase.stages[0]!;
      const cpuMsPerSession = cpuMsPer(stage.cpu, stage.completed, ['engine ceiling (d)', 'Temporal server']).total;
      console.log(`  round ${round}, ${variant.ab}: ${variant.label}: ${stage.throughputPerSec} sessions/s (${stage.delivered}/${stage.sessions} delivered, ${stage.completed} completed), ${cpuMsPerSession} ms CPU per session, start p99 ${stage.startMs.p99} ms`);
      results.push({ round, variant, stage, cpuMsPerSession });
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      await stack.stop();
    }
  }
  return results;
}
