import { buildReport, type Dimension, type ReportRow } from './model';
import { loadFacts, type FactQuery } from './raw-facts';
import { CUBES, DAY_LEVEL, DAY_MS, QUARTER_MS, levelMs } from './rollup-cubes';
import { dirtyBlocks, rollupId, rollups, unpackRows, type Part } from './rollup-store';
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
  differences.push(...(await verifyPartitions(range.from, range.to)));
  return differences;
}

/** Every whole UTC day of the range: each partition dimension's documents hold exactly the day's rows that have a value for it. */
async function verifyPartitions(from: Date, to: Date): Promise<Difference[]> {
  const differences: Difference[] = [];
  const rowsOf = (rows: ReturnType<typeof unpackRows>) => rows.map((r) => JSON.stringify(r)).sort();
  for (let day = Math.ceil(from.getTime() / DAY_MS) * DAY_MS; day + DAY_MS <= to.getTime(); day += DAY_MS) {
    const stored = new Map((await rollups().find({ t: new Date(day), level: DAY_LEVEL }).toArray()).map((d) => [d._id, unpackRows(d.rows)]));
    for (const cube of CUBES) {
      for (const part of ['clicks', 'conversions'] as Part[]) {
        const id = rollupId(cube.name, part, DAY_LEVEL, day);
        const whole = stored.get(id) ?? [];
        for (const dim of cube.partitions ?? []) {
          const at = cube.dims.indexOf(dim);
          const expected = rowsOf(whole.filter((r) => r.k[at] !== null && r.k[at] !== undefined));
          const found = rowsOf([...stored].filter(([key]) => key.startsWith(`${id}|${dim}=`)).flatMap(([, rows]) => rows));
          if (JSON.stringify(found) !== JSON.stringify(expected)) {
            differences.push({ cube: cube.name, statuses: [], includeDuplicates: true, key: `${id}|${dim}`, rollups: null, raw: null });
          }
        }
      }
    }
  }
  return differences;
}
