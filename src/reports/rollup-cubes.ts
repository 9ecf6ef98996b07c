import type { Dimension } from './model';

// What the rollups hold, as pure functions: which cubes (dimension sets) exist, the time levels of a
// bucket, and a session's or conversion's row key in a cube. The database side is rollup-store.ts.
//
// Time: every block lies inside one UTC day. Level 0 is a quarter-hour; level i ≤ 6 spans 2^i
// quarter-hours, aligned on the day's start (so the 16-hour level has one block a day, at 00:00);
// DAY_LEVEL is the whole UTC day, the sum of its 16-hour block and the 8-hour block at 16:00. Every
// UTC offset in use is a multiple of 15 minutes, so a local day or hour in any zone is a union of
// quarter-hours: a few blocks at its edges and whole UTC days between (rollup-facts.ts).

export const QUARTER_MS = 15 * 60_000;
export const DAY_MS = 86_400_000;
/** The UTC day: the largest block. */
export const DAY_LEVEL = 7;
export const MAX_LEVEL = DAY_LEVEL;

export const levelMs = (level: number) => (level === DAY_LEVEL ? DAY_MS : QUARTER_MS * 2 ** level);
export const dayStart = (t: number) => Math.floor(t / DAY_MS) * DAY_MS;
/** The quarter-hour (level 0) or the UTC day holding `t`. */
export const bucketStart = (t: number, level: 0 | typeof DAY_LEVEL) => Math.floor(t / levelMs(level)) * levelMs(level);

/** Whether `(level, t)` is a block: aligned on its UTC day's start, and inside that day. */
export function isBlock(level: number, t: number): boolean {
  if (!Number.isInteger(level) || level < 0 || level > DAY_LEVEL) return false;
  const offset = t - dayStart(t);
  return offset % levelMs(level) === 0 && offset + levelMs(level) <= DAY_MS;
}

/** The two blocks a block of level ≥ 1 is the sum of. */
export function childrenOf(level: number, t: number): [{ level: number; t: number }, { level: number; t: number }] {
  if (level === DAY_LEVEL) return [{ level: 6, t }, { level: 5, t: t + levelMs(6) }];
  return [{ level: level - 1, t }, { level: level - 1, t: t + levelMs(level - 1) }];
}

/** The block whose sum includes this one (null for a day). */
export function parentOf(level: number, t: number): { level: number; t: number } | null {
  if (level >= DAY_LEVEL) return null;
  const day = dayStart(t);
  const up = level + 1;
  const start = day + Math.floor((t - day) / levelMs(up)) * levelMs(up);
  return up < DAY_LEVEL && isBlock(up, start) ? { level: up, t: start } : { level: DAY_LEVEL, t: day };
}

export type CubeDim = Exclude<Dimension, 'day' | 'hour'>;

export interface Cube {
  name: string;
  dims: readonly CubeDim[];
  /** Its largest level: cubes of many distinct rows stop early to keep documents small. */
  maxLevel: number;
  /** Distinct values of the last dimension kept per document and (campaign, publisher); the rest is `(other)`. */
  topN?: number;
  /**
   * Dimensions its day blocks are also stored split by: one document per value, so a report
   * filtered on one (a scoped key's advertiser or publisher, a campaign) reads only its own rows.
   */
  partitions?: readonly CubeDim[];
  /**
   * A sub-id cube stores only rows with a value; its rows without one are this cube's rows minus
   * its own (the same leading dimensions), so a sub-id no link uses costs nothing.
   */
  nullFrom?: string;
  /**
   * Added after rollups were first released: it has no blocks from before the upgrade, so a report
   * reads it only from the first UTC day summed with it whole (`rollup_state` `cubes`, set by
   * rollup-writer.ts; a rebuild extends it back) and a larger cube for ranges starting earlier.
   */
  addedLater?: true;
}

const SCOPE = ['campaign', 'advertiser', 'publisher'] as const;
export const OTHER = '(other)';
const SUB_TOP_N = 200;
// The sub-id cubes' top-N is per (campaign, advertiser, publisher): their first three dimensions.

/**
 * Smallest first: a report reads the first cube that holds all its dimensions and filters (a
 * scoped key's advertiser or publisher included). The two without publisher or campaign serve the
 * operator's and advertisers' commonest reports with a fraction of the rows.
 */
export const CUBES: readonly Cube[] = [
  { name: 'advertiser_campaign', dims: ['advertiser', 'campaign'], maxLevel: DAY_LEVEL, partitions: ['advertiser'] },
  { name: 'campaign', dims: [...SCOPE], maxLevel: DAY_LEVEL, partitions: [...SCOPE] },
  // Publisher × country without the device type: a third of publisher_geo's rows (the operator's commonest report).
  { name: 'publisher_country', dims: ['advertiser', 'publisher', 'country'], maxLevel: DAY_LEVEL, partitions: ['advertiser', 'publisher'], addedLater: true },
  { name: 'publisher_geo', dims: ['advertiser', 'publisher', 'country', 'device_type'], maxLevel: DAY_LEVEL, partitions: ['advertiser', 'publisher'] },
  { name: 'geo', dims: [...SCOPE, 'country', 'device_type'], maxLevel: DAY_LEVEL, partitions: [...SCOPE] },
  { name: 'placement', dims: [...SCOPE, 'asset', 'support'], maxLevel: DAY_LEVEL, partitions: [...SCOPE] },
  ...(['sub1', 'sub2', 'sub3', 'sub4', 'sub5'] as const).map((s): Cube => ({ name: s, dims: [...SCOPE, s], maxLevel: DAY_LEVEL, topN: SUB_TOP_N, partitions: [...SCOPE], nullFrom: 'campaign' })),
  // Every dimension: as many rows as distinct clicks at worst, so only quarter-hours and hours.
  {
    name: 'full',
    dims: [...SCOPE, 'asset', 'support', 'country', 'device_type', 'os', 'browser', 'provider', 'campaign_provider', 'business_provider'],
    maxLevel: 2,
  },
];

/** A day block's rows split by the values of each of the cube's partition dimensions (rows without one are in no part). */
export function partitionRows<R extends Row>(cube: Cube, rows: readonly R[]): { dim: CubeDim; value: string; rows: R[] }[] {
  const out: { dim: CubeDim; value: string; rows: R[] }[] = [];
  for (const dim of cube.partitions ?? []) {
    const at = cube.dims.indexOf(dim);
    const byValue = new Map<string, R[]>();
    for (const r of rows) {
      const v = r.k[at];
      if (v === null || v === undefined) continue;
      const list = byValue.get(v);
      if (list) list.push(r);
      else byValue.set(v, [r]);
    }
    for (const [value, list] of byValue) out.push({ dim, value, rows: list });
  }
  return out;
}

/** The cube a report reads: the smallest `usable` one holding every dimension it groups or filters by. */
export function cubeFor(needed: Iterable<CubeDim>, usable: (cube: Cube) => boolean = () => true): Cube | null {
  const need = [...new Set(needed)];
  return CUBES.find((c) => need.every((d) => c.dims.includes(d)) && usable(c)) ?? null;
}

/**
 * Whether a report from `from` may read `cube`: the blocks it reads lie in the UTC days from
 * `from`'s on, so a cube added later must have been summed into every quarter-hour of them
 * (`summedFrom`: rollup_state's `cubes`).
 */
export function cubeUsable(cube: Cube, from: number, summedFrom: Record<string, Date> | undefined): boolean {
  if (!cube.addedLater) return true;
  const since = summedFrom?.[cube.name];
  return since !== undefined && since.getTime() <= dayStart(from);
}

/** The dimension values of one click, as the rollups see them (null when absent). */
export type DimValues = Partial<Record<CubeDim, string | null>>;

export interface ClickSource {
  dims: DimValues;
  bot: boolean;
  duplicate: boolean;
}

export interface ConversionSource extends ClickSource {
  event: string;
  currency: string;
  status: string;
  payoutMinor: number;
  revenueMinor: number;
}

export interface ClickRow {
  k: (string | null)[];
  b: boolean;
  u: boolean;
  n: number;
}

export interface ConversionRow extends ClickRow {
  e: string;
  c: string;
  s: string;
  /** Sums of integer minor units as decimal strings: exact whatever their size. */
  p: string;
  r: string;
}

export type Row = ClickRow | ConversionRow;
export const isConversionRow = (r: Row): r is ConversionRow => 'e' in r;

const rowKey = (r: Row) => JSON.stringify(isConversionRow(r) ? [r.k, r.b, r.u, r.e, r.c, r.s] : [r.k, r.b, r.u]);

/** Adds rows up by key (a bucket from its sources, or a block from its two halves). */
export function sumRows<R extends Row>(cube: Cube, rows: Iterable<R>): R[] {
  const out = new Map<string, R>();
  for (const r of rows) {
    const key = rowKey(r);
    const a = out.get(key);
    if (!a) {
      out.set(key, { ...r, k: [...r.k] });
      continue;
    }
    a.n += r.n;
    if (isConversionRow(a) && isConversionRow(r)) {
      a.p = (BigInt(a.p) + BigInt(r.p)).toString();
      a.r = (BigInt(a.r) + BigInt(r.r)).toString();
    }
  }
  return cube.topN ? keepTop(cube, [...out.values()]) : [...out.values()];
}

/**
 * A sub-id cube keeps, per (campaign, advertiser, publisher), the `topN` values with most clicks or
 * conversions; the others are added into one `(other)` row, so totals stay exact.
 */
function keepTop<R extends Row>(cube: Cube, rows: R[]): R[] {
  const last = cube.dims.length - 1;
  const weight = new Map<string, Map<string | null, number>>();
  for (const r of rows) {
    const g = JSON.stringify(r.k.slice(0, last));
    const m = weight.get(g) ?? new Map<string | null, number>();
    m.set(r.k[last]!, (m.get(r.k[last]!) ?? 0) + r.n);
    weight.set(g, m);
  }
  const kept = new Map<string, Set<string | null>>();
  let cut = false;
  for (const [g, m] of weight) {
    if (m.size <= cube.topN!) continue;
    cut = true;
    const top = [...m.entries()].sort((x, y) => y[1] - x[1] || String(x[0]).localeCompare(String(y[0]))).slice(0, cube.topN! - 1);
    kept.set(g, new Set(top.map(([v]) => v)));
  }
  if (!cut) return rows;
  const relabelled = rows.map((r) => {
    const keep = kept.get(JSON.stringify(r.k.slice(0, last)));
    if (!keep || keep.has(r.k[last]!)) return r;
    return { ...r, k: [...r.k.slice(0, last), OTHER] };
  });
  return sumRows({ ...cube, topN: undefined }, relabelled);
}

/** Whether a source has a row in the cube (not when the cube derives its rows without a value). */
const inCube = (cube: Cube, s: ClickSource) => !cube.nullFrom || (s.dims[cube.dims[cube.dims.length - 1]!] ?? null) !== null;

export function clickRows(cube: Cube, sources: Iterable<ClickSource>): ClickRow[] {
  const rows: ClickRow[] = [];
  for (const s of sources) if (inCube(cube, s)) rows.push({ k: cube.dims.map((d) => s.dims[d] ?? null), b: s.bot, u: s.duplicate, n: 1 });
  return sumRows(cube, rows);
}

export function conversionRows(cube: Cube, sources: Iterable<ConversionSource>): ConversionRow[] {
  const rows: ConversionRow[] = [];
  for (const s of sources) {
    if (!inCube(cube, s)) continue;
    rows.push({
      k: cube.dims.map((d) => s.dims[d] ?? null),
      b: s.bot,
      u: s.duplicate,
      n: 1,
      e: s.event,
      c: s.currency,
      s: s.status,
      p: String(Math.round(s.payoutMinor || 0)),
      r: String(Math.round(s.revenueMinor || 0)),
    });
  }
  return sumRows(cube, rows);
}
