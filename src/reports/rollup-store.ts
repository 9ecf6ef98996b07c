import { Schema, model, type mongo } from 'mongoose';
import { DAY_LEVEL, isConversionRow, type CubeDim, type Row } from './rollup-cubes';

// The rollup collections. `report_rollups`: one document per cube, part (clicks or conversions),
// level and block, holding all of that block's rows, so replacing a block is one atomic write; a
// day block is also stored once more per value of each partition dimension of its cube (the rows
// holding that value: `…|day|t|publisher=p1`), so that a report filtered on it reads only those.
// The rows are one JSON string of tuples, not an array of subdocuments: a block holds up to tens
// of thousands of rows, and the engine wrote and the driver decoded them one BSON object at a time
// (a 90-day rebuild spent 0.8 ms a block writing; a report most of its time decoding).
// `rollup_dirty`: blocks to recompute, each with a counter bumped by every change (rollup-writer.ts).

export type Part = 'clicks' | 'conversions';

export interface RollupDoc {
  _id: string;
  cube: string;
  part: Part;
  level: number;
  t: Date;
  /** The claim that wrote it: an older claim never overwrites a newer one (fencing). */
  tok: number;
  /** packRows(); an array of rows in documents written before the packing. */
  rows: string | Row[];
  /** A whole day block's partitions as written: `dim=value` → a hash of their rows (unchanged ones are not rewritten). */
  ph?: Record<string, string>;
}

export interface DirtyDoc {
  _id: string;
  level: number;
  t: Date;
  /** Bumped by every change of the block; a recompute clears the mark only if it has not moved. */
  seq: number;
  leaseUntil: Date;
  tok: number;
}

export interface RollupStateDoc {
  _id: string;
  /** Every quarter-hour before this has been marked for recompute at least once after its end. */
  frontier: Date;
  /** Every quarter-hour before this has been recomputed after it settled. */
  applied?: Date;
  /** Minute documents have been written for the minutes from `applied` up to this (rollup-writer.ts). */
  minutes?: Date;
  /** Per cube added later (rollup-cubes.ts `addedLater`): every quarter-hour from this on is summed with it. */
  cubes?: Record<string, Date>;
}

const rollupSchema = new Schema({ _id: String, cube: String, part: String, level: Number, t: Date, tok: Number, rows: Schema.Types.Mixed, ph: Schema.Types.Mixed }, { versionKey: false });
// A rebuild lists the blocks it replaces by time.
rollupSchema.index({ t: 1 });
const dirtySchema = new Schema({ _id: String, level: Number, t: Date, seq: Number, leaseUntil: Date, tok: Number }, { versionKey: false });
dirtySchema.index({ level: 1, t: 1 });
const stateSchema = new Schema({ _id: String, frontier: Date, applied: Date, minutes: Date, cubes: Schema.Types.Mixed }, { versionKey: false });

export const Rollup = model<RollupDoc>('Rollup', rollupSchema, 'report_rollups');
export const RollupDirty = model<DirtyDoc>('RollupDirty', dirtySchema, 'rollup_dirty');
export const RollupState = model<RollupStateDoc>('RollupState', stateSchema, 'rollup_state');

export const rollups = () => Rollup.collection as unknown as mongo.Collection<RollupDoc>;
export const dirtyBlocks = () => RollupDirty.collection as unknown as mongo.Collection<DirtyDoc>;
export const rollupState = () => RollupState.collection as unknown as mongo.Collection<RollupStateDoc>;

// A day is `day`, not its level number: before the day-aligned levels, level 7 meant 32 hours.
export const rollupId = (cube: string, part: Part, level: number, t: number) => `${cube}|${part}|${level === DAY_LEVEL ? 'day' : level}|${t}`;
export const partitionId = (blockId: string, dim: CubeDim, value: string) => `${blockId}|${dim}=${value}`;

/** The level and start of a stored block's id (a partition's too), or null for an id of the older layout. */
export function blockOfId(id: string): { level: number; t: number } | null {
  const [, , level, t] = id.split('|');
  const n = level === 'day' ? DAY_LEVEL : Number(level);
  return Number.isInteger(n) && n < DAY_LEVEL === (level !== 'day') && t !== undefined ? { level: n, t: Number(t) } : null;
}
export const dirtyId = (level: number, t: number) => `${level}|${t}`;

type Packed = [(string | null)[], boolean, boolean, number] | [(string | null)[], boolean, boolean, number, string, string, string, string, string];

export const packRows = (rows: readonly Row[]): string =>
  JSON.stringify(rows.map((r): Packed => (isConversionRow(r) ? [r.k, r.b, r.u, r.n, r.e, r.c, r.s, r.p, r.r] : [r.k, r.b, r.u, r.n])));

export function unpackRows(stored: string | Row[] | undefined): Row[] {
  if (stored === undefined) return [];
  if (typeof stored !== 'string') return stored;
  return (JSON.parse(stored) as Packed[]).map((t) => (t.length === 4 ? { k: t[0], b: t[1], u: t[2], n: t[3] } : { k: t[0], b: t[1], u: t[2], n: t[3], e: t[4], c: t[5], s: t[6], p: t[7], r: t[8] }));
}
