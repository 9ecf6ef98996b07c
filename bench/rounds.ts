import type { LoadResult } from './load';

// `--rounds N`: a hot path's saturated runs again, the baseline's and clicktrail's alternating
// (round 1 baseline first, round 2 clicktrail first, …). This machine's speed drifts by more than
// the targets' margins within minutes (README, Performance), so a ratio of two runs minutes apart
// measures the drift as much as the code; the median of interleaved rounds weighs it on both.

export interface Round {
  baselineRps: number;
  clicktrailRps: number;
  ratio: number;
}

export interface Rounds {
  rounds: Round[];
  /** The median of the rounds' ratios: the value the target is read on. */
  median: number;
}

export function roundOf(baseline: LoadResult, clicktrail: LoadResult): Round {
  return { baselineRps: baseline.rps, clicktrailRps: clicktrail.rps, ratio: baseline.rps > 0 ? clicktrail.rps / baseline.rps : 0 };
}

export function roundsOf(rounds: Round[]): Rounds {
  const sorted = rounds.map((r) => r.ratio).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { rounds, median };
}

/**
 * Rounds 2…`total` after a first round run by the phase itself (baseline first): in even rounds
 * clicktrail runs first. Each `run` does its own settling before and draining after.
 */
export async function moreRounds(total: number, run: { baseline: () => Promise<LoadResult>; clicktrail: () => Promise<LoadResult> }): Promise<Round[]> {
  const rounds: Round[] = [];
  for (let i = 2; i <= total; i++) {
    console.log(`  round ${i} of ${total}, ${i % 2 === 0 ? 'clicktrail' : 'the baseline'} first`);
    if (i % 2 === 0) {
      const c = await run.clicktrail();
      rounds.push(roundOf(await run.baseline(), c));
    } else {
      const b = await run.baseline();
      rounds.push(roundOf(b, await run.clicktrail()));
    }
  }
  return rounds;
}

/** "0.42 (median of 3 interleaved rounds: 512 / 1210 = 0.42, …)": the rounds behind a target's value. */
export function describeRounds(r: Rounds): string {
  return `median of ${r.rounds.length} interleaved rounds: ${r.rounds.map((x) => `${x.clicktrailRps} / ${x.baselineRps} = ${x.ratio.toFixed(2)}`).join('; ')}`;
}
