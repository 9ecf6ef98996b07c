import type { Dimension } from './model';

// What the rollups hold, as pure functions: which cubes (dimension sets) exist, the time levels of a
// bucket, and a session's or conversion's row key in a cube. The database side is rollup-store.ts.
//
// Time: level 0 is a UTC quarter-hour; level i spans 2^i quarter-hours, aligned on the epoch. Every
// UTC offset in use is a multiple of 15 minutes, so a local day or hour in any zone is a union of
// quarter-hours, and any quarter-aligned range is a handful of aligned blocks (rollup-facts.ts).

export const QUARTER_MS = 15 * 60_000;
/** 2^12 quarter-hours ≈ 42.7 days: the largest block. */
export const MAX_LEVEL = 12;

export const levelMs = (level: number) => QUARTER_MS * 2 ** level;
export const bucketStart = (t: number, level: number) => Math.floor(t / levelMs(level)) * levelMs(level);

export type CubeDim = Exclude<Dimension, 'day' | 'hour'>;

export interface Cube {
  name: string;
  dims: readonly CubeDim[];
  /** Its largest level: cubes of many distinct rows stop early to keep documents small. */
  maxLevel: number;
  /** Distinct values of the last dimension kept per document and (campaign, publisher); the rest is `(other)`. */
  topN?: number;
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
  { name: 'advertiser_campaign', dims: ['advertiser', 'campaign'], maxLevel: MAX_LEVEL },
  { name: 'campaign', dims: [...SCOPE], maxLevel: MAX_LEVEL },
  { name: 'publisher_geo', dims: ['advertiser', 'publisher', 'country', 'device_type'], maxLevel: MAX_LEVEL },
  { name: 'geo', dims: [...SCOPE, 'country', 'device_type'], maxLevel: MAX_LEVEL },
  { name: 'placement', dims: [...SCOPE, 'asset', 'support'], maxLevel: MAX_LEVEL },
  ...(['sub1', 'sub2', 'sub3', 'sub4', 'sub5'] as const).map((s): Cube => ({ name: s, dims: [...SCOPE, s], maxLevel: 6, topN: SUB_TOP_N })),
  // Every dimension: as many rows as distinct clicks at worst, so only quarter-hours and hours.
  {
    name: 'full',
    dims: [...SCOPE, 'asset', 'support', 'country', 'device_type', 'os', 'browser', 'provider', 'campaign_provider', 'business_provider'],
    maxLevel: 2,
  },
];

/** The cube a report reads: the smallest holding every dimension it groups or filters by. */
export function cubeFor(needed: Iterable<CubeDim>): Cube | null {
  const need = [...new Set(needed)];
  return CUBES.find((c) => need.every((d) => c.dims.includes(d))) ?? null;
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

export function clickRows(cube: Cube, sources: Iterable<ClickSource>): ClickRow[] {
  const rows: ClickRow[] = [];
  for (const s of sources) rows.push({ k: cube.dims.map((d) => s.dims[d] ?? null), b: s.bot, u: s.duplicate, n: 1 });
  return sumRows(cube, rows);
}

export function conversionRows(cube: Cube, sources: Iterable<ConversionSource>): ConversionRow[] {
  const rows: ConversionRow[] = [];
  for (const s of sources) {
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
