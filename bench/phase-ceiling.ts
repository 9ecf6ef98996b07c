import type { ServerChild } from './children';
import { engineServer, serverScript, withCpu, type BenchContext } from './context';
import type { CpuUsage } from './cpu';
import type { CeilingStage, CeilingStageResult } from './servers/engine-ceiling';

// Baseline (d), the engine's ceiling: the no-op session workflow (bench/ceiling/workflows.ts)
// driven from the engine core, with no database, at rising offered rates (1.5× each) until a stage
// loses a session or falls behind (falling rates if the first stage already did). The ceiling is
// the highest rate kept with zero loss.

export interface CeilingPhaseResult {
  stages: (CeilingStageResult & { cpu: CpuUsage; kept: boolean })[];
  /** Highest offered rate kept (every session started, signalled, delivered and completed; deliveries at ≥ 90% of it); 0 if none. */
  sessionsPerSec: number;
  /** The kept stage's CPU per session (ms), engine processes only. */
  best: (CeilingStageResult & { cpu: CpuUsage; kept: boolean }) | null;
}

const GROWTH = 1.5;
const MAX_STAGES = 8;

export async function runCeilingPhase(
  ctx: BenchContext,
  opts: { log?: boolean; /** Run this many stages whatever they keep (engine-ab: 1). */ stages?: number; env?: Record<string, string> } = {},
): Promise<CeilingPhaseResult> {
  const { args } = ctx;
  const ceiling = await engineServer(ctx, 'engine ceiling (d)', serverScript('engine-ceiling'), { ...opts.env, TEMPORAL_ADDRESS: ctx.temporalAddress });
  try {
    // Unmeasured: the worker's first workflow tasks (V8 context, JIT) would otherwise be charged to the first stage.
    await runStage(ceiling, { rate: 10, sessions: 10, windowMs: args.ceilingWindowMs, drainTimeoutSec: 60 });
    const stages: CeilingPhaseResult['stages'] = [];
    let rate = args.ceilingRate;
    for (let i = 0; i < (opts.stages ?? MAX_STAGES); i++) {
      const stage: CeilingStage = {
        rate,
        sessions: Math.max(10, Math.round(rate * args.ceilingSeconds)),
        windowMs: args.ceilingWindowMs,
        drainTimeoutSec: Math.min(args.drainTimeout, 60),
      };
      const { result, cpu } = await withCpu(ctx, ceiling, () => runStage(ceiling, stage));
      const kept =
        result.drained && result.errors.length === 0 && [result.started, result.signalled, result.delivered, result.completed].every((n) => n === stage.sessions) && result.sustainedPerSec >= 0.9 * rate;
      stages.push({ ...result, cpu, kept });
      if (opts.log !== false || opts.stages !== undefined) {
        console.log(
          `  (d) ${rate}/s: ${result.completed}/${stage.sessions} completed, ${result.delivered} delivered, ${result.eager} eager starts, ${result.sustainedPerSec}/s sustained, start p99 ${result.startMs.p99} ms${kept ? '' : ' — not kept'}${result.errors.length ? `; ${result.errors[0]}` : ''}`,
        );
      }
      if (opts.stages === undefined) {
        // Up while stages keep their rate; if even the first did not, down until one does.
        if (!kept && stages.some((x) => x.kept)) break;
        if (!kept && rate <= 2) break;
      }
      rate = kept || opts.stages !== undefined ? Math.round(rate * GROWTH) : Math.max(1, Math.round(rate / GROWTH));
    }
    const keptStages = stages.filter((s) => s.kept);
    const best = keptStages.length ? keptStages[keptStages.length - 1]! : null;
    return { stages, sessionsPerSec: best?.rate ?? 0, best };
  } finally {
    await ceiling.stop();
  }
}

function runStage(ceiling: ServerChild, stage: CeilingStage): Promise<CeilingStageResult> {
  return ceiling.ask({ stage }, (m) => {
    const reply = m as { stageDone?: CeilingStageResult; stageFailed?: string };
    if (reply?.stageFailed) throw new Error(`engine ceiling: ${reply.stageFailed}`);
    return reply?.stageDone;
  });
}
