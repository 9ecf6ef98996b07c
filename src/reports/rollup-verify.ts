import { buildReport, type Dimension, type ReportRow } from './model';
import { loadFacts, type FactQuery } from './raw-facts';
import { CUBES, QUARTER_MS, levelMs } from './rollup-cubes';
import { dirtyBlocks } from './rollup-store';
import { loadRollupFacts } from './rollup-facts';
import { RollupWriter } from './rollup-writer';

// Rebuild and verify: the rollups of a range recomputed from the raw data (history from before the
// rollups, or repair), and a check that compares them with a raw recount, per cube, status and
// duplicate setting, to the cent.

/** The quarter-hours that hold `[from, to)`. */
export function quarterRange(from: Date, to: Date): { from: Date; to: Date } {
  return { from: new Date(Math.floor(from.getTime() / QUARTER_MS) * QUARTER_MS), to: new Date(Math.ceil(to.getTime() / QUARTER_MS) * QUARTER_MS) };
}

/**
 * Marks every quarter-hour of the range and recomputes it (and the blocks above) now; returns once
 * no block over the range is left to recompute, whichever writer took it.
 */
export async function rebuildRollups(from: Date, to: Date, writer = new RollupWriter()): Promise<{ quarters: number; blocks: number }> {
  const range = quarterRange(from, to);
  const quarters = (range.to.getTime() - range.from.getTime()) / QUARTER_MS;
  let blocks = await writer.rebuild(range.from.getTime(), range.to.getTime());
  for (;;) {
    blocks += await writer.drain();
    const pending = await dirtyBlocks().find({ t: { $lt: range.to } }, { projection: { level: 1, t: 1 } }).toArray();
    if (!pending.some((d) => d.t.getTime() + levelMs(d.level) > range.from.getTime())) return { quarters, blocks };
    // Another writer holds some of them: wait for it (or for its lease to run out).
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Difference {
  cube: string;
  statuses: string[];
  includeDuplicates: boolean;
  key: string;
  rollups: ReportRow | null;
  raw: ReportRow | null;
}

const SHOW = { payout: true, revenue: true };

/** Every row where the rollups and a raw recount of `[from, to)` disagree (empty: they agree). */
export async function verifyRollups(from: Date, to: Date): Promise<Difference[]> {
  const range = quarterRange(from, to);
  const differences: Difference[] = [];
  for (const cube of CUBES) {
    const groupBy = cube.dims as readonly Dimension[];
    for (const statuses of [['approved'], ['pending'], ['rejected']]) {
      for (const includeDuplicates of [true, false]) {
        const q: FactQuery = { groupBy, ...range, tz: 'UTC', includeBots: true, includeDuplicates, statuses, filters: [] };
        const fromRollups = await loadRollupFacts(q);
        if (!fromRollups) throw new Error('the rollups cannot answer yet: no writer has run (start a worker, or run drain)');
        const raw = await loadFacts(q);
        const a = buildReport(groupBy, fromRollups.clicks, fromRollups.conversions, { includeBots: true, show: SHOW }).rows;
        const b = buildReport(groupBy, raw.clicks, raw.conversions, { includeBots: true, show: SHOW }).rows;
        const keyOf = (r: ReportRow) => JSON.stringify(groupBy.map((d) => r[d] ?? null));
        const rawRows = new Map(b.map((r) => [keyOf(r), r]));
        for (const r of a) {
          const key = keyOf(r);
          const other = rawRows.get(key) ?? null;
          rawRows.delete(key);
          if (JSON.stringify(r) !== JSON.stringify(other)) differences.push({ cube: cube.name, statuses, includeDuplicates, key, rollups: r, raw: other });
        }
        for (const [key, r] of rawRows) differences.push({ cube: cube.name, statuses, includeDuplicates, key, rollups: null, raw: r });
      }
    }
  }
  return differences;
}
