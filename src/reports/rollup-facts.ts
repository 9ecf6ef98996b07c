import type { FactQuery } from './raw-facts';
import type { ClickFact, ConversionFact, Dims } from './model';
import { QUARTER_MS, cubeFor, isConversionRow, levelMs, type Cube, type CubeDim, type Row } from './rollup-cubes';
import { rollupId, rollupState, rollups, unpackRows, type RollupDoc } from './rollup-store';
import { quarterRows } from './rollup-writer';
import { localTime } from './time';

// The read side of reports: a quarter-aligned range is cut at every local day or hour the report
// groups by, each piece into the fewest aligned blocks, and the blocks' rows of the smallest cube
// that holds the report's dimensions and filters are added up here. A 30-day report by day reads
// about 6 blocks a day whatever the traffic; the rows per block are bounded by the distinct
// dimension values, not by clicks.

export interface Block {
  level: number;
  t: number;
  /** The local day and hour the whole block falls in (only those the report groups by). */
  labels: Dims;
}

function labeller(q: Pick<FactQuery, 'groupBy' | 'tz'>): (t: number) => Dims {
  const day = q.groupBy.includes('day');
  const hour = q.groupBy.includes('hour');
  if (!day && !hour) return () => ({});
  return (t) => {
    const lt = localTime(new Date(t), q.tz);
    return { ...(day ? { day: lt.day } : {}), ...(hour ? { hour: lt.hour } : {}) };
  };
}

const same = (a: Dims, b: Dims) => a.day === b.day && a.hour === b.hour;

/** The blocks of `[from, to)` for `cube`, each inside one local day/hour group; null when not quarter-aligned. */
export function blocksOf(q: Pick<FactQuery, 'groupBy' | 'tz' | 'from' | 'to'>, cube: Pick<Cube, 'maxLevel'>): Block[] | null {
  const from = q.from.getTime();
  const to = q.to.getTime();
  if (from % QUARTER_MS !== 0 || to % QUARTER_MS !== 0) return null;
  const label = labeller(q);
  const blocks: Block[] = [];
  let t = from;
  while (t < to) {
    const labels = label(t);
    // The group's end: gallop then bisect on quarter-hours (labels only move forward in time).
    const total = (to - t) / QUARTER_MS;
    let lo = 0;
    let step = 1;
    while (step < total && same(label(t + step * QUARTER_MS), labels)) {
      lo = step;
      step *= 2;
    }
    let hi = Math.min(step, total);
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (same(label(t + mid * QUARTER_MS), labels)) lo = mid;
      else hi = mid;
    }
    const end = t + hi * QUARTER_MS;
    while (t < end) {
      let level = cube.maxLevel;
      while (level > 0 && (t % levelMs(level) !== 0 || t + levelMs(level) > end)) level--;
      blocks.push({ level, t, labels });
      t += levelMs(level);
    }
  }
  return blocks;
}

type Acc = { dims: Dims; n: number; p: bigint; r: bigint };

/** The report's facts from the rollups, or null when they cannot answer it (the caller reads raw). */
export async function loadRollupFacts(q: FactQuery): Promise<{ clicks: ClickFact[]; conversions: ConversionFact[] } | null> {
  const plain = q.groupBy.filter((d): d is CubeDim => d !== 'day' && d !== 'hour');
  const cube = cubeFor([...plain, ...q.filters.map(([name]) => name)]);
  if (!cube) return null;
  const from = q.from.getTime();
  const to = q.to.getTime();
  if (from % QUARTER_MS !== 0 || to % QUARTER_MS !== 0) return null;
  // Until a writer has run, there is nothing to read.
  const state = await rollupState().findOne({ _id: 'frontier' }, q.budget ? { maxTimeMS: q.budget.maxTimeMS } : {});
  if (!state?.applied) return null;
  const cut = Math.min(Math.max(state.applied.getTime(), from), to);
  const blocks = blocksOf({ ...q, to: new Date(cut) }, cube)!;

  const labelsOf = new Map<string, Dims>();
  for (const b of blocks) {
    labelsOf.set(rollupId(cube.name, 'clicks', b.level, b.t), b.labels);
    labelsOf.set(rollupId(cube.name, 'conversions', b.level, b.t), b.labels);
  }
  const sources: { labels: Dims; rows: Row[] }[] = [];
  if (labelsOf.size > 0) {
    const cursor = rollups().find({ _id: { $in: [...labelsOf.keys()] } }, { projection: { rows: 1 }, ...(q.budget ? { maxTimeMS: q.budget.maxTimeMS } : {}) });
    const docs: Pick<RollupDoc, '_id' | 'rows'>[] = q.budget ? await q.budget.toArray(cursor) : await cursor.toArray();
    for (const doc of docs) sources.push({ labels: labelsOf.get(doc._id)!, rows: unpackRows(doc.rows) });
  }
  // The newest quarter-hours (clicks may still be landing in them) straight from the raw data.
  const label = labeller(q);
  for (let t = cut; t < to; t += QUARTER_MS) {
    const live = (await quarterRows(t, [cube], { clicks: true, ...(q.budget ? { maxTimeMS: q.budget.maxTimeMS } : {}) })).get(cube.name)!;
    sources.push({ labels: label(t), rows: [...live.clicks, ...live.conversions] });
  }

  const filters = q.filters.map(([name, values]) => ({ at: cube.dims.indexOf(name), values: new Set<string | null>(values) }));
  const dimAt = plain.map((d) => [d, cube.dims.indexOf(d)] as const);
  const statuses = new Set(q.statuses);
  const clicks = new Map<string, Acc & { bot: boolean }>();
  const convs = new Map<string, Acc & { event: string; currency: string }>();

  const accFor = <A extends Acc>(map: Map<string, A>, key: string, make: () => A): A => {
    let a = map.get(key);
    if (!a) {
      a = make();
      map.set(key, a);
      q.rowCap?.add(JSON.stringify(q.groupBy.map((d) => a!.dims[d] ?? null)));
    }
    return a;
  };
  const dimsOf = (labels: Dims, row: Row): Dims => {
    const dims: Dims = { ...labels };
    for (const [d, at] of dimAt) dims[d] = row.k[at] ?? null;
    return dims;
  };

  // The hot loop of a report (tens of thousands of rows): string keys, objects only for new groups.
  for (const { labels, rows } of sources) {
    const labelKey = `${labels.day ?? ''}|${labels.hour ?? ''}`;
    for (const row of rows) {
      if (row.u && q.includeDuplicates === false) continue;
      let pass = true;
      for (const f of filters) {
        if (!f.values.has(row.k[f.at] ?? null)) {
          pass = false;
          break;
        }
      }
      if (!pass) continue;
      let key = labelKey;
      for (const [, at] of dimAt) key += `\u0001${row.k[at] ?? '\u0002'}`;
      if (isConversionRow(row)) {
        if (!statuses.has(row.s) || (row.b && !q.includeBots)) continue;
        const a = accFor(convs, `${key}\u0003${row.e}\u0003${row.c}`, () => ({ dims: dimsOf(labels, row), n: 0, p: 0n, r: 0n, event: row.e, currency: row.c }));
        a.n += row.n;
        a.p += BigInt(row.p);
        a.r += BigInt(row.r);
      } else {
        const a = accFor(clicks, `${key}\u0003${row.b ? 1 : 0}`, () => ({ dims: dimsOf(labels, row), n: 0, p: 0n, r: 0n, bot: row.b }));
        a.n += row.n;
      }
    }
  }
  return {
    clicks: [...clicks.values()].map((a) => ({ dims: a.dims, bot: a.bot, count: a.n })),
    conversions: [...convs.values()].map((a) => ({ dims: a.dims, event: a.event, currency: a.currency, count: a.n, payoutMinor: a.p, revenueMinor: a.r })),
  };
}
