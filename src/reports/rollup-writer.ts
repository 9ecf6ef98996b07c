import type { mongo } from 'mongoose';
import type { Logger } from '../log';
import { conversions, type ConversionRecord } from '../persistence/models/conversion';
import { sessions, type SessionRecord } from '../persistence/models/session';
import {
  CUBES,
  MAX_LEVEL,
  QUARTER_MS,
  bucketStart,
  clickRows,
  conversionRows,
  levelMs,
  sumRows,
  type ClickRow,
  type ClickSource,
  type ConversionRow,
  type Cube,
  type ConversionSource,
  type DimValues,
  type Row,
} from './rollup-cubes';
import { dirtyBlocks, dirtyId, packRows, rollupId, rollupState, rollups, unpackRows, type DirtyDoc, type Part, type RollupDoc } from './rollup-store';

/** A block as computed, before its rows are packed for storage. */
type BlockDoc = Omit<RollupDoc, 'rows'> & { rows: Row[] };

// Keeps the rollups equal to the raw collections. A block is never incremented: it is recomputed
// from its sources (a quarter-hour from the raw sessions and conversions created in it, a larger
// block from its two halves) and replaced in one write. So a retry, a restart or two writers cannot
// count anything twice: a block is a function of the raw data, whoever computes it and how often.
//
// What to recompute is a `rollup_dirty` mark per block, bumped by every change:
// - clicks: the writer marks every quarter-hour from its frontier to now on each tick (the click
//   path pays nothing); sessions stored late (MongoDB down at the click) are marked by
//   persistSession, as are conversions and every status change by their activities;
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

/** Marks the block of level `level` holding `t` for recompute. Idempotent; safe from any process. */
export async function markDirty(t: number, level = 0): Promise<void> {
  const start = bucketStart(t, level);
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

/** Every quarter-hour of `[from, to)` marked; returns how many. */
export async function markRange(from: Date, to: Date): Promise<number> {
  let n = 0;
  for (let t = bucketStart(from.getTime(), 0); t < to.getTime(); t += QUARTER_MS) {
    await markDirty(t);
    n++;
  }
  return n;
}

/** The clicks and conversions created in `[from, to)`, with their dimensions. */
async function loadSources(from: number, to: number, o: { clicks: boolean; maxTimeMS?: number }): Promise<{ clicks: (ClickSource & { at: number })[]; convs: (ConversionSource & { at: number })[] }> {
  const range = { $gte: new Date(from), $lt: new Date(to) };
  const opts = o.maxTimeMS ? { maxTimeMS: o.maxTimeMS } : {};
  const [clickDocs, convDocs] = await Promise.all([
    o.clicks ? sessions().find({ createdAt: range }, { projection: { ...SESSION_FIELDS, createdAt: 1 }, ...opts }).toArray() : Promise.resolve([] as (SessionDims & { createdAt: Date })[]),
    conversions().find({ createdAt: range }, opts).toArray(),
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

/** The rows of one quarter-hour per cube, from the raw collections (the writer's, and reports' for the newest). */
export async function quarterRows(t: number, cubes: readonly Cube[], o: { clicks: boolean; maxTimeMS?: number }): Promise<CubeRows> {
  const { clicks, convs } = await loadSources(t, t + QUARTER_MS, o);
  return new Map(cubes.map((cube) => [cube.name, { clicks: clickRows(cube, clicks), conversions: conversionRows(cube, convs) }]));
}

/** A rebuild computes blocks up to this level in memory, one such block of raw data at a time. */
const REBUILD_CHUNK_LEVEL = 7;

export interface WriterOptions {
  log?: Logger;
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

export class RollupWriter {
  private readonly leaseMs: number;
  private readonly retentionMs: number;
  private readonly lateMs: number;
  private readonly batch: number;
  private lastTok = 0;

  constructor(private readonly o: WriterOptions = {}) {
    this.leaseMs = o.leaseMs ?? 60_000;
    this.retentionMs = o.retentionMs ?? 0;
    this.lateMs = o.lateMs ?? 120_000;
    this.batch = o.batch ?? 64;
  }

  /** A claim token that grows in this process even within one millisecond. */
  private token(): number {
    this.lastTok = Math.max(Date.now(), this.lastTok + 1);
    return this.lastTok;
  }

  /** One round of the live writer: marks the quarter-hours clicks may still land in, then drains. */
  async tick(now = Date.now()): Promise<number> {
    const state = await rollupState().findOne({ _id: 'frontier' });
    const settled = bucketStart(now - this.lateMs, 0);
    const frontier = state ? Math.min(state.frontier.getTime(), settled) : settled;
    for (let t = frontier; t <= bucketStart(now, 0); t += QUARTER_MS) await markDirty(t);
    await rollupState().updateOne({ _id: 'frontier' }, { $max: { frontier: new Date(settled) } }, { upsert: true });
    const done = await this.drain();
    // Reports read blocks before `applied` and compute the quarter-hours after it from raw data.
    const behind = await dirtyBlocks().findOne({ level: 0, t: { $gte: new Date(frontier), $lt: new Date(settled) } });
    await rollupState().updateOne({ _id: 'frontier' }, { $max: { applied: new Date(behind ? behind.t.getTime() : settled) } });
    return done;
  }

  /**
   * Recomputes `[from, to)` (quarter-aligned) from the raw data: each 32-hour chunk read once and
   * its blocks up to 32 hours computed in memory and written; the blocks above and those the range
   * only partly covers are marked and drained. Writes carry one token taken before reading, so a
   * live writer's later claim always wins over them. Returns the blocks written.
   */
  async rebuild(from: number, to: number): Promise<number> {
    const tok = this.token();
    const chunkMs = levelMs(REBUILD_CHUNK_LEVEL);
    const horizon = this.retentionMs > 0 ? Date.now() - this.retentionMs : -Infinity;
    let written = 0;
    // A chunk's blocks are written while the next chunk is read and computed.
    let writing: Promise<void> = Promise.resolve();
    for (let c = bucketStart(from, REBUILD_CHUNK_LEVEL); c < to; c += chunkMs) {
      const lo = Math.max(c, from);
      const hi = Math.min(c + chunkMs, to);
      // Clicks whose raw sessions may have expired are left as they are: the slow path keeps them.
      if (lo < horizon + QUARTER_MS) {
        for (let t = lo; t < hi; t += QUARTER_MS) await markDirty(t);
        continue;
      }
      const { clicks, convs } = await loadSources(lo, hi, { clicks: true });
      const byQuarter = new Map<number, { clicks: ClickSource[]; convs: ConversionSource[] }>();
      for (let t = lo; t < hi; t += QUARTER_MS) byQuarter.set(t, { clicks: [], convs: [] });
      for (const k of clicks) byQuarter.get(bucketStart(k.at, 0))!.clicks.push(k);
      for (const k of convs) byQuarter.get(bucketStart(k.at, 0))!.convs.push(k);
      const docs: BlockDoc[] = [];
      let level = new Map<number, CubeRows>();
      for (const [t, src] of byQuarter) level.set(t, new Map(CUBES.map((cube) => [cube.name, { clicks: clickRows(cube, src.clicks), conversions: conversionRows(cube, src.convs) }])));
      for (let l = 0; ; l++) {
        for (const [t, rows] of level) {
          for (const cube of CUBES) {
            if (cube.maxLevel < l) continue;
            const r = rows.get(cube.name)!;
            docs.push(this.doc(cube.name, 'clicks', l, t, tok, r.clicks), this.doc(cube.name, 'conversions', l, t, tok, r.conversions));
          }
        }
        if (l === REBUILD_CHUNK_LEVEL) break;
        const next = new Map<number, CubeRows>();
        const half = levelMs(l);
        for (const [t, rows] of level) {
          if (t % levelMs(l + 1) !== 0 || !level.has(t + half)) continue;
          const other = level.get(t + half)!;
          next.set(
            t,
            new Map(
              CUBES.filter((cube) => cube.maxLevel > l).map((cube) => {
                const a = rows.get(cube.name)!;
                const b = other.get(cube.name)!;
                return [cube.name, { clicks: sumRows(cube, [...a.clicks, ...b.clicks]), conversions: sumRows(cube, [...a.conversions, ...b.conversions]) }];
              }),
            ),
          );
        }
        level = next;
      }
      await writing;
      const stored = new Set((await rollups().find({ t: { $gte: new Date(lo), $lt: new Date(hi) } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
      writing = (async () => {
        for (let i = 0; i < docs.length; i += 500) await this.write(docs.slice(i, i + 500), stored);
      })();
      // Awaited at the next chunk or after the last; until then a failure must not count as unhandled.
      writing.catch(() => undefined);
      written += docs.length;
    }
    await writing;
    // Blocks above the chunks, and the ones the range covers only in part.
    for (let l = 1; l <= MAX_LEVEL; l++) {
      for (let t = bucketStart(from, l); t < to; t += levelMs(l)) {
        const inside = t >= from && t + levelMs(l) <= to && l <= REBUILD_CHUNK_LEVEL && t >= horizon + QUARTER_MS;
        if (!inside) await markDirty(t, l);
      }
    }
    return written + (await this.drain());
  }

  /** Recomputes marked blocks, lowest level first, until none is left that this writer may claim. */
  async drain(): Promise<number> {
    let done = 0;
    for (;;) {
      const now = new Date();
      const candidates = await dirtyBlocks().find({ leaseUntil: { $lt: now } }).sort({ level: 1, t: 1 }).limit(this.batch).toArray();
      if (candidates.length === 0) return done;
      const lowest = candidates[0]!.level;
      // Parents wait for every child of theirs in this round: finish a level before the next one.
      for (const c of candidates.filter((d) => d.level === lowest)) {
        if (await this.recomputeClaimed(c)) done++;
      }
    }
  }

  private async recomputeClaimed(mark: DirtyDoc): Promise<boolean> {
    const tok = this.token();
    const claimed = await dirtyBlocks().findOneAndUpdate(
      { _id: mark._id, leaseUntil: { $lt: new Date() } },
      { $set: { leaseUntil: new Date(Date.now() + this.leaseMs), tok } },
      { returnDocument: 'after' },
    );
    if (!claimed) return false;
    const t = claimed.t.getTime();
    try {
      if (claimed.level === 0) await this.recomputeQuarter(t, tok);
      else await this.recomputeBlock(claimed.level, t, tok);
      if (claimed.level < MAX_LEVEL) await markDirty(t, claimed.level + 1);
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

  /** A block of level ≥ 1 from its two halves. */
  private async recomputeBlock(level: number, t: number, tok: number): Promise<void> {
    const half = levelMs(level - 1);
    const cubes = CUBES.filter((c) => c.maxLevel >= level);
    const parts: Part[] = ['clicks', 'conversions'];
    const ids = cubes.flatMap((c) => parts.flatMap((p) => [rollupId(c.name, p, level - 1, t), rollupId(c.name, p, level - 1, t + half)]));
    const children = new Map((await rollups().find({ _id: { $in: ids } }).toArray()).map((d) => [d._id, d]));
    const docs: BlockDoc[] = [];
    for (const cube of cubes) {
      for (const part of parts) {
        const rows: Row[] = [t, t + half].flatMap((h) => unpackRows(children.get(rollupId(cube.name, part, level - 1, h))?.rows));
        docs.push(this.doc(cube.name, part, level, t, tok, sumRows(cube, rows)));
      }
    }
    await this.write(docs);
  }

  private doc(cube: string, part: Part, level: number, t: number, tok: number, rows: Row[]): BlockDoc {
    return { _id: rollupId(cube, part, level, t), cube, part, level, t: new Date(t), tok, rows };
  }

  /**
   * Replaces each block unless a later claim wrote it (its filter then matches nothing and the
   * upsert's insert hits the existing _id: that block is left alone). An empty block is deleted,
   * not stored: most quarter-hours of most cubes have nothing. `stored`: the ids that exist, when
   * the caller knows them (a rebuild), so that nothing is deleted that is not there.
   */
  private async write(docs: BlockDoc[], stored?: Set<string>): Promise<void> {
    const empty = docs.filter((d) => d.rows.length === 0 && (!stored || stored.has(d._id)));
    const ops: mongo.AnyBulkWriteOperation<RollupDoc>[] = docs
      .filter((d) => d.rows.length > 0)
      .map((d) => ({ replaceOne: { filter: { _id: d._id, tok: { $lte: d.tok } }, replacement: { ...d, rows: packRows(d.rows) }, upsert: true } }));
    // One delete per block: the engine walked the whole collection for a `deleteMany` with `_id: {$in}`
    // (a 90-day rebuild spent more time there than in its writes).
    for (const d of empty) ops.push({ deleteOne: { filter: { _id: d._id, tok: { $lte: d.tok } } } });
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
