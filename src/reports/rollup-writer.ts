import { createHash } from 'node:crypto';
import type { mongo } from 'mongoose';
import type { Logger } from '../log';
import { conversions, type ConversionRecord } from '../persistence/models/conversion';
import { advertiserCampaignBounds } from '../persistence/advertiser-campaigns';
import { idRange, idRangeHint } from '../persistence/session-ids';
import { sessions, type SessionRecord } from '../persistence/models/session';
import {
  CUBES,
  DAY_LEVEL,
  DAY_MS,
  QUARTER_MS,
  bucketStart,
  childrenOf,
  clickRows,
  conversionRows,
  isBlock,
  levelMs,
  parentOf,
  partitionRows,
  sumRows,
  type ClickRow,
  type ClickSource,
  type ConversionRow,
  type Cube,
  type ConversionSource,
  type DimValues,
  type Row,
} from './rollup-cubes';
import { blockOfId, dirtyBlocks, dirtyId, packRows, partitionId, rollupId, rollupState, rollups, unpackRows, type DirtyDoc, type Part, type RollupDoc, type RollupStateDoc } from './rollup-store';

/** A block as computed, before its rows are packed for storage. */
/** `of`: a partition's whole block; `packed`: its rows, packed once for their hash. */
type BlockDoc = Omit<RollupDoc, 'rows'> & { rows: Row[]; packed?: string; of?: BlockDoc };

// Keeps the rollups equal to the raw collections. A block is never incremented: it is recomputed
// from its sources (a quarter-hour from the raw sessions and conversions created in it, a larger
// block from its two halves) and replaced in one write. So a retry, a restart or two writers cannot
// count anything twice: a block is a function of the raw data, whoever computes it and how often.
//
// What to recompute is a `rollup_dirty` mark per block, bumped by every change:
// - clicks: the writer marks each quarter-hour once it has settled (the click path pays nothing);
//   sessions stored late (MongoDB down at the click) are marked by persistSession, as are
//   conversions and every status change by their activities;
// - a recompute claims the mark (a lease), writes, marks the parent block, and clears the mark only
//   if no change bumped it meanwhile; a write carries its claim's token and never replaces a block
//   written by a later claim (a writer that outlived its lease cannot put older numbers back).

const SESSION_FIELDS = { campaignId: 1, advertiserId: 1, publisherId: 1, assetId: 1, supportId: 1, country: 1, device: 1, providers: 1, publisherData: 1, bot: 1, duplicate: 1 } as const;
type SessionDims = Pick<SessionRecord, '_id' | keyof typeof SESSION_FIELDS>;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function sessionDims(s: Partial<SessionDims>): DimValues {
  const sub = (n: number) => str(s.publisherData?.[`sub${n}`]);
  return {
    campaign: str(s.campaignId),
    advertiser: str(s.advertiserId),
    publisher: str(s.publisherId),
    asset: str(s.assetId),
    support: str(s.supportId),
    country: str(s.country),
    device_type: str(s.device?.type),
    os: str(s.device?.os),
    browser: str(s.device?.browser),
    provider: str(s.providers?.publisher),
    campaign_provider: str(s.providers?.campaign),
    business_provider: str(s.providers?.business),
    sub1: sub(1),
    sub2: sub(2),
    sub3: sub(3),
    sub4: sub(4),
    sub5: sub(5),
  };
}

/** A conversion's dimensions: its session's, or (session expired) what the conversion carries. */
function conversionSource(c: ConversionRecord, s: SessionDims | undefined): ConversionSource {
  const dims = s
    ? sessionDims(s)
    : { campaign: c.campaignId, advertiser: c.advertiserId, publisher: c.publisherId, asset: c.assetId, support: c.supportId, country: c.country, device_type: c.deviceType };
  return {
    dims,
    bot: c.bot === true,
    duplicate: s?.duplicate === true,
    event: c.event,
    currency: c.currency,
    status: c.status,
    payoutMinor: c.payoutMinor,
    revenueMinor: c.revenueMinor,
  };
}

/** Marks the quarter-hour holding `t` (or the block `(level, t)`) for recompute. Idempotent; safe from any process. */
export async function markDirty(t: number, level = 0): Promise<void> {
  const start = level === 0 ? bucketStart(t, 0) : t;
  const update = { $inc: { seq: 1 }, $setOnInsert: { level, t: new Date(start), leaseUntil: new Date(0), tok: 0 } };
  try {
    await dirtyBlocks().updateOne({ _id: dirtyId(level, start) }, update, { upsert: true });
  } catch (err) {
    // Two upserts of a new mark at once: one inserted it, the other bumps it now.
    if ((err as { code?: number }).code !== 11000) throw err;
    await dirtyBlocks().updateOne({ _id: dirtyId(level, start) }, update, { upsert: true });
  }
}

/** For the activities: a stored or changed session or conversion created at `at`. */
export const markChanged = (at: Date | number) => markDirty(typeof at === 'number' ? at : at.getTime());

/**
 * Whether a record created at `createdAtMs` and stored at `storedAtMs` needs its quarter-hour
 * marked. Stored within half of ROLLUP_LATE_MS, it landed before the writer marked that
 * quarter-hour settled (at least ROLLUP_LATE_MS after its end), so the writer reads it then with
 * the rest: no mark, which would be one more write of a row every change of the quarter-hour
 * locks. The other half is slack for the clocks of the hosts.
 */
export function needsMark(createdAtMs: number, storedAtMs: number, lateMs: number): boolean {
  return storedAtMs - createdAtMs >= lateMs / 2;
}

/** Every quarter-hour of `[from, to)` marked; returns how many. */
export async function markRange(from: Date, to: Date): Promise<number> {
  let n = 0;
  for (let t = bucketStart(from.getTime(), 0); t < to.getTime(); t += QUARTER_MS) {
    await markDirty(t);
    n++;
  }
  return n;
}

export interface SourceOptions {
  clicks: boolean;
  /** Default true. */
  conversions?: boolean;
  /** On fields sessions and conversions both have (campaignId, advertiserId, publisherId): a scoped report's tail. */
  match?: Record<string, { $in: string[] }>;
  maxTimeMS?: number;
}

/** The clicks and conversions created in `[from, to)`, with their dimensions. */
export async function loadSources(from: number, to: number, o: SourceOptions): Promise<{ clicks: (ClickSource & { at: number })[]; convs: (ConversionSource & { at: number })[] }> {
  const opts = o.maxTimeMS ? { maxTimeMS: o.maxTimeMS } : {};
  const [clickDocs, convDocs] = await Promise.all([
    o.clicks
      ? advertiserCampaignBounds([o.match ?? {}]).then((bounds) => {
          const and = [{ _id: idRange(from, to), ...o.match }, ...bounds];
          return sessions().find({ $and: and }, { projection: { ...SESSION_FIELDS, createdAt: 1 }, ...opts, ...idRangeHint(and.flatMap((c) => Object.keys(c))) }).toArray();
        })
      : Promise.resolve([] as (SessionDims & { createdAt: Date })[]),
    o.conversions === false ? Promise.resolve([] as ConversionRecord[]) : conversions().find({ createdAt: { $gte: new Date(from), $lt: new Date(to) }, ...o.match }, opts).toArray(),
  ]);
  const known = new Map<string, SessionDims>(clickDocs.map((s) => [s._id, s]));
  const missing = [...new Set(convDocs.map((c) => c.sessionId).filter((id) => !known.has(id)))];
  for (let i = 0; i < missing.length; i += 1000) {
    for (const s of await sessions().find({ _id: { $in: missing.slice(i, i + 1000) } }, { projection: SESSION_FIELDS, ...opts }).toArray()) known.set(s._id, s);
  }
  return {
    clicks: clickDocs.map((s) => ({ dims: sessionDims(s), bot: s.bot === true, duplicate: s.duplicate === true, at: s.createdAt.getTime() })),
    convs: convDocs.map((c) => ({ ...conversionSource(c, known.get(c.sessionId)), at: c.createdAt.getTime() })),
  };
}

type CubeRows = Map<string, { clicks: ClickRow[]; conversions: ConversionRow[] }>;

/** The rows of one quarter-hour per cube, from the raw collections (what the writer stores for it). */
export async function quarterRows(t: number, cubes: readonly Cube[], o: { clicks: boolean; maxTimeMS?: number }): Promise<CubeRows> {
  const { clicks, convs } = await loadSources(t, t + QUARTER_MS, o);
  return new Map(cubes.map((cube) => [cube.name, { clicks: clickRows(cube, clicks), conversions: conversionRows(cube, convs) }]));
}

/**
 * Minute documents: each cube's clicks of one minute, written once the minute has settled, so that
 * a report reads the open quarter-hours from them instead of every raw session in them. They are
 * not blocks: nothing adds them up, and they are deleted once their quarter-hour is applied.
 */
export const MINUTE_MS = 60_000;
export const MINUTE_LEVEL = -1;
export const minuteId = (cube: string, t: number) => `${cube}|clicks|m|${t}`;
/** How far back minute documents are written (a writer back after a long stop skips older minutes: reports read them raw). */
const MAX_MINUTES = 40;
/** Minutes read per tick: one read's sessions stay few even at high click rates; the next ticks catch up. */
const MINUTES_PER_TICK = 5;

export interface WriterOptions {
  log?: Logger;
  /** How long after its click a session is stored by the click path at the latest (its insert's budget and clock skew). */
  minuteSettleMs?: number;
  /** How long a claimed block is this writer's; past it another writer may take it over. */
  leaseMs?: number;
  /** Raw sessions older than this are (or may be) expired: their click rollups are kept as they are. */
  retentionMs?: number;
  /** How long after its click a session may still be inserted by the click path. */
  lateMs?: number;
  /** Blocks claimed per round. */
  batch?: number;
}

const isDuplicateKey = (err: unknown) => (err as { code?: number })?.code === 11000;

const ADDED_LATER = CUBES.filter((c) => c.addedLater);

/**
 * Records, for each cube added later that has no entry yet, the time from which every quarter-hour
 * is summed with it: the frontier this writer found (what lies before was summed without it), or
 * the beginning of time on a database no writer had run on.
 */
async function registerCubes(found: RollupStateDoc | null): Promise<void> {
  for (const cube of ADDED_LATER) {
    if (found?.cubes?.[cube.name]) continue;
    const field = `cubes.${cube.name}`;
    await rollupState().updateOne({ _id: 'frontier', [field]: { $exists: false } }, { $set: { [field]: found ? found.frontier : new Date(0) } });
  }
}

/** After a rebuild of `[from, to)`: a cube added later that was summed from `to` or earlier now is from `from`. */
async function extendCubes(from: number, to: number): Promise<void> {
  for (const cube of ADDED_LATER) {
    const field = `cubes.${cube.name}`;
    await rollupState().updateOne({ _id: 'frontier', [field]: { $lte: new Date(to) } }, { $min: { [field]: new Date(from) } });
  }
}

export class RollupWriter {
  private readonly leaseMs: number;
  private readonly retentionMs: number;
  private readonly lateMs: number;
  private readonly batch: number;
  private readonly minuteSettleMs: number;
  private lastTok = 0;

  constructor(private readonly o: WriterOptions = {}) {
    this.leaseMs = o.leaseMs ?? 60_000;
    this.retentionMs = o.retentionMs ?? 0;
    this.lateMs = o.lateMs ?? 120_000;
    this.batch = o.batch ?? 64;
    this.minuteSettleMs = o.minuteSettleMs ?? 3_000;
  }

  /** A claim token that grows in this process even within one millisecond. */
  private token(): number {
    this.lastTok = Math.max(Date.now(), this.lastTok + 1);
    return this.lastTok;
  }

  /**
   * One round of the live writer: marks the quarter-hours that have settled since the last round
   * (no click can land in them any more), then drains. A quarter-hour still taking clicks is not
   * recomputed, not even for a conversion marked in it: reports read it raw (after `applied`), and
   * recomputing it each round would read its clicks again every round, a cost growing with the
   * square of the click rate. Each settled quarter-hour is read once.
   */
  async tick(now = Date.now()): Promise<number> {
    const state = await rollupState().findOne({ _id: 'frontier' });
    const settled = bucketStart(now - this.lateMs, 0);
    const frontier = state ? Math.min(state.frontier.getTime(), settled) : settled;
    for (let t = frontier; t < settled; t += QUARTER_MS) await markDirty(t);
    await rollupState().updateOne({ _id: 'frontier' }, { $max: { frontier: new Date(settled) } }, { upsert: true });
    await registerCubes(state);
    const done = await this.drain(settled);
    // Reports read blocks before `applied` and compute the quarter-hours after it from raw data.
    const behind = await dirtyBlocks().findOne({ level: 0, t: { $gte: new Date(frontier), $lt: new Date(settled) } });
    await rollupState().updateOne({ _id: 'frontier' }, { $max: { applied: new Date(behind ? behind.t.getTime() : settled) } });
    await this.writeMinutes(now);
    return done;
  }

  /**
   * The minute documents of the minutes settled since the last tick, after `applied` (what reports
   * read raw otherwise). A minute is recomputed whole and replaced, so two writers write the same;
   * a session stored later than `minuteSettleMs` after its click (MongoDB down at the click) is
   * missing from its minute until its quarter-hour is applied. Those of applied quarter-hours go.
   */
  private async writeMinutes(now: number): Promise<void> {
    const state = await rollupState().findOne({ _id: 'frontier' });
    const applied = state?.applied?.getTime();
    if (applied === undefined) return;
    const settled = Math.floor((now - this.minuteSettleMs) / MINUTE_MS) * MINUTE_MS;
    const start = Math.max(applied, state?.minutes?.getTime() ?? 0, settled - MAX_MINUTES * MINUTE_MS);
    const end = Math.min(settled, start + MINUTES_PER_TICK * MINUTE_MS);
    if (start < end) {
      const { clicks } = await loadSources(start, end, { clicks: true, conversions: false });
      const byMinute = new Map<number, ClickSource[]>();
      for (let t = start; t < end; t += MINUTE_MS) byMinute.set(t, []);
      for (const k of clicks) byMinute.get(Math.floor(k.at / MINUTE_MS) * MINUTE_MS)?.push(k);
      const ops: mongo.AnyBulkWriteOperation<RollupDoc>[] = [];
      for (const [t, src] of byMinute) {
        for (const cube of CUBES) {
          const doc: Omit<RollupDoc, '_id'> = { cube: cube.name, part: 'clicks', level: MINUTE_LEVEL, t: new Date(t), tok: 0, rows: packRows(clickRows(cube, src)) };
          ops.push({ replaceOne: { filter: { _id: minuteId(cube.name, t) }, replacement: doc as RollupDoc, upsert: true } });
        }
      }
      for (let i = 0; i < ops.length; i += 500) await this.bulk(ops.slice(i, i + 500));
      await rollupState().updateOne({ _id: 'frontier' }, { $max: { minutes: new Date(end) } });
    }
    await rollups().deleteMany({ level: MINUTE_LEVEL, t: { $lt: new Date(applied) } });
  }

  /**
   * Recomputes `[from, to)` (quarter-aligned) from the raw data: each UTC day read once, all its
   * blocks computed in memory and written (what was stored for it and is no longer there is
   * deleted); the blocks a range edge only partly covers are marked and drained. Writes carry one
   * token taken before reading, so a live writer's later claim always wins over them. Returns the
   * blocks written.
   */
  async rebuild(from: number, to: number): Promise<number> {
    const tok = this.token();
    const horizon = this.retentionMs > 0 ? Date.now() - this.retentionMs : -Infinity;
    let written = 0;
    // Where the rebuild read raw data: from the first day whose sessions have not expired on.
    let summedFrom = Infinity;
    // A day's blocks are written while the next day is computed, and the day after that is read
    // meanwhile: the database and this process work at once.
    let writing: Promise<void> = Promise.resolve();
    const bounds = (day: number) => ({ lo: Math.max(day, from), hi: Math.min(day + DAY_MS, to) });
    // Clicks whose raw sessions may have expired are left as they are: the slow path keeps them.
    const readable = (day: number) => day < to && bounds(day).lo >= horizon + QUARTER_MS;
    const read = (day: number) => {
      const p = loadSources(bounds(day).lo, bounds(day).hi, { clicks: true });
      p.catch(() => undefined);
      return p;
    };
    let next = readable(bucketStart(from, DAY_LEVEL)) ? read(bucketStart(from, DAY_LEVEL)) : null;
    for (let day = bucketStart(from, DAY_LEVEL); day < to; day += DAY_MS) {
      const { lo, hi } = bounds(day);
      if (!readable(day)) {
        for (let t = lo; t < hi; t += QUARTER_MS) await markDirty(t);
        next = readable(day + DAY_MS) ? read(day + DAY_MS) : null;
        continue;
      }
      summedFrom = Math.min(summedFrom, lo);
      const { clicks, convs } = await next!;
      next = readable(day + DAY_MS) ? read(day + DAY_MS) : null;
      const byQuarter = new Map<number, { clicks: ClickSource[]; convs: ConversionSource[] }>();
      for (let t = lo; t < hi; t += QUARTER_MS) byQuarter.set(t, { clicks: [], convs: [] });
      for (const k of clicks) byQuarter.get(bucketStart(k.at, 0))!.clicks.push(k);
      for (const k of convs) byQuarter.get(bucketStart(k.at, 0))!.convs.push(k);
      // Every block of the day inside [lo, hi), from the quarter-hours up.
      const computed = new Map<string, CubeRows>();
      const at = (level: number, t: number) => `${level}|${t}`;
      for (const [t, src] of byQuarter) computed.set(at(0, t), new Map(CUBES.map((cube) => [cube.name, { clicks: clickRows(cube, src.clicks), conversions: conversionRows(cube, src.convs) }])));
      for (let l = 1; l <= DAY_LEVEL; l++) {
        for (let t = day; t + levelMs(l) <= day + DAY_MS; t += levelMs(l)) {
          const [a, b] = childrenOf(l, t).map((c) => computed.get(at(c.level, c.t)));
          if (!a || !b) continue;
          computed.set(
            at(l, t),
            new Map(
              CUBES.filter((cube) => cube.maxLevel >= l).map((cube) => {
                const x = a.get(cube.name)!;
                const y = b.get(cube.name)!;
                return [cube.name, { clicks: sumRows(cube, [...x.clicks, ...y.clicks]), conversions: sumRows(cube, [...x.conversions, ...y.conversions]) }];
              }),
            ),
          );
        }
      }
      const docs: BlockDoc[] = [];
      for (const [key, rows] of computed) {
        const [l, t] = key.split('|').map(Number) as [number, number];
        for (const cube of CUBES) {
          const r = rows.get(cube.name);
          if (!r) continue;
          docs.push(...this.docs(cube, 'clicks', l, t, tok, r.clicks), ...this.docs(cube, 'conversions', l, t, tok, r.conversions));
        }
      }
      await writing;
      // What is stored for the blocks recomputed here and was not recomputed: empty now, a
      // partition whose value is gone, or a block of the older layout.
      const full = docs.filter((d) => d.rows.length > 0);
      const kept = new Set(full.map((d) => d._id));
      const stale = (await rollups().find({ t: { $gte: new Date(lo), $lt: new Date(hi) } }, { projection: { _id: 1 } }).toArray())
        .map((d) => d._id)
        .filter((id) => {
          if (kept.has(id)) return false;
          const b = blockOfId(id);
          return !b || !isBlock(b.level, b.t) || b.t + levelMs(b.level) <= hi;
        });
      writing = (async () => {
        for (let i = 0; i < full.length; i += 500) await this.write(full.slice(i, i + 500));
        await this.remove(stale, tok);
      })();
      // Awaited at the next day or after the last; until then a failure must not count as unhandled.
      writing.catch(() => undefined);
      written += full.length;
      // A block the range covers only in part: recomputed by the drain below, from its children.
      if (lo > day || hi < day + DAY_MS) {
        for (let l = 1; l <= DAY_LEVEL; l++) {
          for (let t = day; t + levelMs(l) <= day + DAY_MS; t += levelMs(l)) {
            if (t < hi && t + levelMs(l) > lo && !computed.has(at(l, t))) await markDirty(t, l);
          }
        }
      }
    }
    await writing;
    const blocks = written + (await this.drain());
    if (summedFrom < to) await extendCubes(summedFrom, to);
    return blocks;
  }

  /**
   * Recomputes marked blocks, lowest level first, until none is left that this writer may claim;
   * quarter-hours from `settledBefore` on are left marked for a later round.
   */
  async drain(settledBefore = Infinity): Promise<number> {
    let done = 0;
    const settledOnly = Number.isFinite(settledBefore) ? { $or: [{ level: { $gt: 0 } }, { t: { $lt: new Date(settledBefore) } }] } : {};
    // Marks whose claim ran out before their write, left to a later round (or another writer).
    const late = new Set<string>();
    for (;;) {
      const now = new Date();
      const candidates = await dirtyBlocks()
        .find({ leaseUntil: { $lt: now }, ...settledOnly, ...(late.size ? { _id: { $nin: [...late] } } : {}) })
        .sort({ level: 1, t: 1 })
        .limit(this.batch)
        .toArray();
      if (candidates.length === 0) return done;
      const lowest = candidates[0]!.level;
      // Parents wait for every child of theirs in this round: finish a level before the next one.
      for (const c of candidates.filter((d) => d.level === lowest)) {
        const outcome = await this.recomputeClaimed(c);
        if (outcome === 'late') late.add(c._id);
        else if (outcome) done++;
      }
    }
  }

  private async recomputeClaimed(mark: DirtyDoc): Promise<boolean | 'late'> {
    // A mark of the older layout's levels (epoch-aligned, up to 42 days): nothing reads those.
    if (!isBlock(mark.level, mark.t.getTime())) {
      await dirtyBlocks().deleteOne({ _id: mark._id, seq: mark.seq, leaseUntil: { $lt: new Date() } });
      return false;
    }
    const tok = this.token();
    const claimed = await dirtyBlocks().findOneAndUpdate(
      { _id: mark._id, leaseUntil: { $lt: new Date() } },
      { $set: { leaseUntil: new Date(Date.now() + this.leaseMs), tok } },
      { returnDocument: 'after' },
    );
    if (!claimed) return false;
    const t = claimed.t.getTime();
    // Past this, another writer may hold the mark: nothing written that a token cannot fence.
    const writeBy = claimed.leaseUntil.getTime() - this.leaseMs / 3;
    try {
      if (claimed.level === 0) await this.recomputeQuarter(t, tok);
      else if (!(await this.recomputeBlock(claimed.level, t, tok, writeBy))) {
        this.o.log?.warn({ level: claimed.level, t: claimed.t, leaseMs: this.leaseMs }, 'rollup block not written: its claim was about to run out (raise ROLLUP_LEASE_MS if this repeats)');
        return 'late';
      }
      const parent = parentOf(claimed.level, t);
      if (parent) await markDirty(parent.t, parent.level);
    } catch (err) {
      await dirtyBlocks().updateOne({ _id: claimed._id, tok }, { $set: { leaseUntil: new Date(0) } });
      throw err;
    }
    const cleared = await dirtyBlocks().deleteOne({ _id: claimed._id, seq: claimed.seq, tok });
    if (cleared.deletedCount === 0) await dirtyBlocks().updateOne({ _id: claimed._id, tok }, { $set: { leaseUntil: new Date(0) } });
    return true;
  }

  /** A quarter-hour from the raw collections. */
  private async recomputeQuarter(t: number, tok: number): Promise<void> {
    const keepClicks = this.retentionMs > 0 && t + QUARTER_MS <= Date.now() - this.retentionMs;
    const computed = await quarterRows(t, CUBES, { clicks: !keepClicks });
    const docs: BlockDoc[] = [];
    for (const cube of CUBES) {
      const rows = computed.get(cube.name)!;
      if (!keepClicks) docs.push(this.doc(cube.name, 'clicks', 0, t, tok, rows.clicks));
      docs.push(this.doc(cube.name, 'conversions', 0, t, tok, rows.conversions));
    }
    await this.write(docs);
  }

  /**
   * A block of level ≥ 1 from its two children; a day with its partitions (those whose value is gone
   * deleted). False, with nothing written, when the claim is about to run out before the partitions
   * are written: a later claim may have skipped some as unchanged, keeping their older token, which
   * this one's would then overwrite with what it read before.
   */
  private async recomputeBlock(level: number, t: number, tok: number, writeBy: number): Promise<boolean> {
    const cubes = CUBES.filter((c) => c.maxLevel >= level);
    const parts: Part[] = ['clicks', 'conversions'];
    const children = childrenOf(level, t);
    const ids = cubes.flatMap((c) => parts.flatMap((p) => children.map((h) => rollupId(c.name, p, h.level, h.t))));
    const stored = new Map((await rollups().find({ _id: { $in: ids } }).toArray()).map((d) => [d._id, d]));
    const docs: BlockDoc[] = [];
    for (const cube of cubes) {
      for (const part of parts) {
        const rows: Row[] = children.flatMap((h) => unpackRows(stored.get(rollupId(cube.name, part, h.level, h.t))?.rows));
        docs.push(...this.docs(cube, part, level, t, tok, sumRows(cube, rows)));
      }
    }
    let stale: string[] = [];
    let changed = docs;
    if (level === DAY_LEVEL) {
      // The day's blocks and partitions as stored (the `t` index: every block starting at this instant).
      const fresh = new Set(docs.map((d) => d._id));
      const atDay = await rollups().find({ t: new Date(t), level }, { projection: { _id: 1, ph: 1 } }).toArray();
      stale = atDay.map((d) => d._id).filter((id) => !fresh.has(id));
      // A tick recomputes today's day block: only the partitions whose rows changed are written again.
      const before = new Map(atDay.filter((d) => d.ph).map((d) => [d._id, d.ph!]));
      changed = docs.filter((d) => {
        if (!d.of) return true;
        const key = d._id.slice(d.of._id.length + 1);
        return before.get(d.of._id)?.[key] !== d.of.ph![key];
      });
    }
    if (level === DAY_LEVEL && Date.now() >= writeBy) return false;
    // Partitions before their whole block: a crash in between leaves the old hashes, so they are written again.
    await this.write(changed.filter((d) => d.of));
    await this.write(changed.filter((d) => !d.of));
    await this.remove(stale, tok);
    return true;
  }

  private doc(cube: string, part: Part, level: number, t: number, tok: number, rows: Row[]): BlockDoc {
    return { _id: rollupId(cube, part, level, t), cube, part, level, t: new Date(t), tok, rows };
  }

  /** A block, and for a day one document per value of each partition dimension (their hashes in the whole one's `ph`). */
  private docs(cube: Cube, part: Part, level: number, t: number, tok: number, rows: Row[]): BlockDoc[] {
    const whole = this.doc(cube.name, part, level, t, tok, rows);
    if (level !== DAY_LEVEL) return [whole];
    const parts = partitionRows(cube, rows).map((p): BlockDoc => {
      const packed = packRows(p.rows);
      return { ...whole, _id: partitionId(whole._id, p.dim, p.value), rows: p.rows, packed, of: whole };
    });
    whole.ph = Object.fromEntries(parts.map((d) => [d._id.slice(whole._id.length + 1), createHash('sha1').update(d.packed!).digest('base64url')]));
    return [whole, ...parts];
  }

  /**
   * Replaces each block unless a later claim wrote it (its filter then matches nothing and the
   * upsert's insert hits the existing _id: that block is left alone). An empty block is deleted,
   * not stored: most quarter-hours of most cubes have nothing.
   */
  private async write(docs: BlockDoc[]): Promise<void> {
    const ops: mongo.AnyBulkWriteOperation<RollupDoc>[] = docs
      .filter((d) => d.rows.length > 0)
      .map(({ packed, of: _of, ...d }) => ({ replaceOne: { filter: { _id: d._id, tok: { $lte: d.tok } }, replacement: { ...d, rows: packed ?? packRows(d.rows) }, upsert: true } }));
    // One delete per block: the engine walked the whole collection for a `deleteMany` with `_id: {$in}`
    // (a 90-day rebuild spent more time there than in its writes).
    for (const d of docs) if (d.rows.length === 0) ops.push({ deleteOne: { filter: { _id: d._id, tok: { $lte: d.tok } } } });
    await this.bulk(ops);
  }

  /** Deletes stored blocks unless a later claim wrote them. */
  private async remove(ids: string[], tok: number): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) await this.bulk(ids.slice(i, i + 500).map((_id) => ({ deleteOne: { filter: { _id, tok: { $lte: tok } } } })));
  }

  private async bulk(ops: mongo.AnyBulkWriteOperation<RollupDoc>[]): Promise<void> {
    if (ops.length === 0) return;
    try {
      await rollups().bulkWrite(ops, { ordered: false });
    } catch (err) {
      const writeErrors = (err as { writeErrors?: unknown[] }).writeErrors;
      const all = Array.isArray(writeErrors) ? writeErrors : [err];
      if (!all.every((e) => isDuplicateKey(e) || isDuplicateKey((e as { err?: unknown }).err))) throw err;
      this.o.log?.debug({ superseded: all.length }, 'rollup blocks written by a later claim were left alone');
    }
  }
}
