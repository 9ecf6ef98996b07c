import { all, queryOptions, within, type FactQuery } from './raw-facts';
import type { ClickFact, ConversionFact, Dims } from './model';
import { CUBES, DAY_LEVEL, DAY_MS, OTHER, QUARTER_MS, clickRows, conversionRows, cubeFor, cubeUsable, dayStart, isBlock, isConversionRow, levelMs, type Cube, type CubeDim, type Row } from './rollup-cubes';
import { partitionId, rollupId, rollupState, rollups, unpackRows, type RollupDoc } from './rollup-store';
import { MINUTE_MS, loadSources, minuteId } from './rollup-writer';
import { localTime } from './time';

// The read side of reports: a quarter-aligned range is cut at every local day or hour the report
// groups by; each piece is whole UTC days plus a few blocks at its edges, and the blocks' rows of
// the smallest cube that holds the report's dimensions and filters are added up here. An edge may
// also be its whole UTC day minus the part outside (counts and sums subtract exactly), so a 30-day
// report by Paris day reads about 60 blocks per part: the 30 days and the hour or two between
// midnight UTC and midnight in Paris. A report filtered on a partition dimension of the cube (a
// scoped key's advertiser or publisher, a campaign) reads that value's day documents only.

export interface Block {
  level: number;
  t: number;
  /** The local day and hour the whole block falls in (only those the report groups by). */
  labels: Dims;
  /** -1: subtracted (the part of a UTC day outside the local group). */
  sign: 1 | -1;
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

/** The fewest blocks covering `[a, b)`, inside one UTC day: the largest that starts at each point and fits. */
function cover(a: number, b: number, maxLevel: number): { level: number; t: number }[] {
  const out: { level: number; t: number }[] = [];
  for (let t = a; t < b; ) {
    let level = maxLevel;
    while (level > 0 && !(isBlock(level, t) && t + levelMs(level) <= b)) level--;
    out.push({ level, t });
    t += levelMs(level);
  }
  return out;
}

/**
 * The blocks of `[from, to)` for `cube`, each inside one local day/hour group, with a sign; null
 * when not quarter-aligned. Only a day that ends by `settled` (all of it written) is subtracted
 * from, and only when `subtract` (the caller's check that a top-N did not cut the values).
 */
export function blocksOf(q: Pick<FactQuery, 'groupBy' | 'tz' | 'from' | 'to'>, cube: Pick<Cube, 'maxLevel'>, settled = q.to.getTime(), subtract = true): Block[] | null {
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
      const day = dayStart(t);
      const upTo = Math.min(end, day + DAY_MS);
      let best: Block[] = cover(t, upTo, cube.maxLevel).map((b) => ({ ...b, labels, sign: 1 }));
      if (subtract && cube.maxLevel >= DAY_LEVEL && best.length > 1 && day + DAY_MS <= settled) {
        const minus = [{ level: DAY_LEVEL, t: day }, ...cover(day, t, DAY_LEVEL), ...cover(upTo, day + DAY_MS, DAY_LEVEL)];
        // On a tie, the day: its partitions are smaller, and the edges are shared with the next group.
        if (minus.length <= best.length) best = minus.map((b, i): Block => ({ ...b, labels, sign: i === 0 ? 1 : -1 }));
      }
      blocks.push(...best);
      t = upTo;
    }
  }
  return blocks;
}

/** The filter values a report's rows must have on `dim` (every list given for it), or null when unfiltered. */
function required(q: Pick<FactQuery, 'filters'>, dim: CubeDim): Set<string> | null {
  let values: Set<string> | null = null;
  for (const [name, list] of q.filters) {
    if (name !== dim) continue;
    values = values ? new Set(list.filter((v) => values!.has(v))) : new Set(list);
  }
  return values;
}

/**
 * The documents a report reads: each block's id, or for a day the ids of its partitions on the
 * cube's most selective filtered dimension; each with the labels and signs it is added with.
 */
export function documentsOf(q: Pick<FactQuery, 'filters'>, cube: Cube, blocks: readonly Block[]): Map<string, { labels: Dims; sign: 1 | -1 }[]> {
  let split: { dim: CubeDim; values: string[] } | null = null;
  for (const dim of cube.partitions ?? []) {
    const values = required(q, dim);
    if (values && (!split || values.size < split.values.length)) split = { dim, values: [...values] };
  }
  const out = new Map<string, { labels: Dims; sign: 1 | -1 }[]>();
  for (const b of blocks) {
    for (const part of ['clicks', 'conversions'] as const) {
      const id = rollupId(cube.name, part, b.level, b.t);
      const ids = b.level === DAY_LEVEL && split ? split.values.map((v) => partitionId(id, split!.dim, v)) : [id];
      for (const i of ids) {
        const uses = out.get(i);
        if (uses) uses.push({ labels: b.labels, sign: b.sign });
        else out.set(i, [{ labels: b.labels, sign: b.sign }]);
      }
    }
  }
  return out;
}

type Acc = { dims: Dims; n: number; p: bigint; r: bigint };
type Source = { labels: Dims; sign: 1 | -1; rows: Row[] };

/** Sessions' and conversions' fields for the filters a scoped or filtered report always has. */
const MATCHED: Partial<Record<string, string>> = { campaign: 'campaignId', advertiser: 'advertiserId', publisher: 'publisherId' };

/**
 * The quarter-hours after `applied` (clicks may still land in them), per quarter-hour: clicks from
 * the writer's minute documents where it has written them (reports of every account), from the raw
 * sessions for the newest minutes and for reports scoped to a campaign, advertiser or publisher;
 * conversions (a few percent of clicks, and their statuses still change) from the raw collection.
 * Raw reads keep only the report's campaign, advertiser and publisher filters.
 */
async function tailSources(q: FactQuery, cut: number, to: number, cubes: Cube[], withNulls: (own: Source[], base: Source[]) => Source[]): Promise<Source[]> {
  const opts = queryOptions(q);
  const match: Record<string, { $in: string[] }> = {};
  for (const [name, values] of q.filters) {
    const field = MATCHED[name];
    if (field) match[field] = { $in: match[field] ? match[field].$in.filter((v) => values.includes(v)) : values };
  }
  // A minute document holds every account's rows: what reading it costs grows with all the clicks
  // of the tail. A scoped or campaign-filtered report reads only its own clicks, raw, through the
  // {field, _id} index: a cost that grows with its own traffic.
  const ids: string[] = [];
  if (Object.keys(match).length === 0) for (let m = cut; m < to; m += MINUTE_MS) for (const c of cubes) ids.push(minuteId(c.name, m));
  const minutes = new Map((ids.length > 0 ? await all(q, rollups().find({ _id: { $in: ids } }, { projection: { rows: 1 }, ...opts })) : []).map((d) => [d._id, unpackRows(d.rows)]));
  const written = (m: number) => cubes.every((c) => minutes.has(minuteId(c.name, m)));
  // Raw clicks for each run of minutes without documents (the newest, at least).
  const rawClicks: Awaited<ReturnType<typeof loadSources>>['clicks'] = [];
  for (let m = cut; m < to; ) {
    if (written(m)) {
      m += MINUTE_MS;
      continue;
    }
    let end = m;
    while (end < to && !written(end)) end += MINUTE_MS;
    rawClicks.push(...(await within(q, loadSources(m, end, { clicks: true, conversions: false, match, ...opts }))).clicks);
    m = end;
  }
  const { convs } = await within(q, loadSources(cut, to, { clicks: false, match, ...opts }));
  const label = labeller(q);
  const out: Source[] = [];
  for (let t = cut; t < to; t += QUARTER_MS) {
    const inQuarter = <T extends { at: number }>(xs: T[]) => xs.filter((x) => x.at >= t && x.at < t + QUARTER_MS);
    const clicks = inQuarter(rawClicks);
    const conversions = inQuarter(convs);
    const rowsOf = (c: Cube): Source => {
      const rows: Row[] = [...clickRows(c, clicks), ...conversionRows(c, conversions)];
      for (let m = t; m < t + QUARTER_MS && m < to; m += MINUTE_MS) if (written(m)) rows.push(...minutes.get(minuteId(c.name, m))!);
      return { labels: label(t), sign: 1, rows };
    };
    out.push(...withNulls([rowsOf(cubes[0]!)], cubes[1] ? [rowsOf(cubes[1])] : []));
  }
  return out;
}

/** The report's facts from the rollups, or null when they cannot answer it (the caller reads raw). */
export async function loadRollupFacts(q: FactQuery): Promise<{ clicks: ClickFact[]; conversions: ConversionFact[] } | null> {
  const plain = q.groupBy.filter((d): d is CubeDim => d !== 'day' && d !== 'hour');
  const from = q.from.getTime();
  const to = q.to.getTime();
  if (from % QUARTER_MS !== 0 || to % QUARTER_MS !== 0) return null;
  // Until a writer has run, there is nothing to read.
  const state = await within(q, rollupState().findOne({ _id: 'frontier' }, queryOptions(q)));
  if (!state?.applied) return null;
  const cube = cubeFor([...plain, ...q.filters.map(([name]) => name)], (c) => cubeUsable(c, from, state.cubes));
  if (!cube) return null;
  const applied = state.applied.getTime();
  const cut = Math.min(Math.max(applied, from), to);
  // A sub-id cube's rows without a value: its base cube's rows (campaign, advertiser, publisher)
  // minus its own with the value dropped. Exact, whatever the top-N did: it only relabels values.
  const base = cube.nullFrom ? CUBES.find((c) => c.name === cube.nullFrom)! : null;
  const last = cube.dims.length - 1;
  const withNulls = (own: Source[], baseRows: Source[]): Source[] =>
    base ? [...own, ...baseRows, ...own.map((x): Source => ({ ...x, sign: x.sign === 1 ? -1 : 1, rows: x.rows.map((r) => ({ ...r, k: r.k.slice(0, last) })) }))] : own;

  const read = async (subtract: boolean) => {
    const blocks = blocksOf({ ...q, to: new Date(cut) }, cube, applied, subtract)!;
    const uses = new Map([...documentsOf(q, cube, blocks), ...(base ? documentsOf(q, base, blocks) : [])]);
    const own: Source[] = [];
    const fromBase: Source[] = [];
    if (uses.size > 0) {
      const docs: Pick<RollupDoc, '_id' | 'rows'>[] = await all(q, rollups().find({ _id: { $in: [...uses.keys()] } }, { projection: { rows: 1 }, ...queryOptions(q) }));
      for (const doc of docs) {
        const rows = unpackRows(doc.rows);
        const into = doc._id.startsWith(`${cube.name}|`) ? own : fromBase;
        for (const use of uses.get(doc._id)!) into.push({ ...use, rows });
      }
    }
    return { own, fromBase, subtracted: blocks.some((b) => b.sign < 0) };
  };
  let got = await read(true);
  // A top-N that cut values keeps different ones in a day and in its edges: added up only, then.
  if (got.subtracted && cube.topN && got.own.some((x) => x.rows.some((r) => r.k[last] === OTHER))) got = await read(false);
  const sources = withNulls(got.own, got.fromBase);
  if (cut < to) sources.push(...(await tailSources(q, cut, to, base ? [cube, base] : [cube], withNulls)));

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
    }
    return a;
  };
  const dimsOf = (labels: Dims, row: Row): Dims => {
    const dims: Dims = { ...labels };
    for (const [d, at] of dimAt) dims[d] = row.k[at] ?? null;
    return dims;
  };

  // The hot loop of a report (tens of thousands of rows): string keys, objects only for new groups.
  for (const { labels, sign, rows } of sources) {
    const big = BigInt(sign);
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
        a.n += sign * row.n;
        a.p += big * BigInt(row.p);
        a.r += big * BigInt(row.r);
      } else {
        const a = accFor(clicks, `${key}\u0003${row.b ? 1 : 0}`, () => ({ dims: dimsOf(labels, row), n: 0, p: 0n, r: 0n, bot: row.b }));
        a.n += sign * row.n;
      }
    }
  }
  // What a subtraction cancelled is no row; the rest counts against the report's rows.
  const clickGroups = [...clicks.values()].filter((a) => a.n !== 0);
  const convGroups = [...convs.values()].filter((a) => a.n !== 0);
  for (const a of [...clickGroups, ...convGroups]) q.rowCap?.add(JSON.stringify(q.groupBy.map((d) => a.dims[d] ?? null)));
  return {
    clicks: clickGroups.map((a) => ({ dims: a.dims, bot: a.bot, count: a.n })),
    conversions: convGroups.map((a) => ({ dims: a.dims, event: a.event, currency: a.currency, count: a.n, payoutMinor: a.p, revenueMinor: a.r })),
  };
}
