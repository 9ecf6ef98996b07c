import { v7 as uuidv7 } from 'uuid';

// A session's id is a UUIDv7 made from the same clock reading as its createdAt, so ids sort in
// click order and a time range of sessions is a range of ids: read on the primary key or a
// `{field, _id}` index, with no index of its own on createdAt, and claimed in order by the hand-over.

/** The id of a session created at `ms` (the click's clock reading, also its createdAt). */
export const newSessionId = (ms: number): string => uuidv7({ msecs: ms });

/** The smallest UUIDv7 of millisecond `ms`: every id made before `ms` sorts below it. */
export function idFloor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/** When a UUIDv7 was made (ms), from its first 48 bits. */
export function idTime(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/**
 * The ids of the sessions created in `[from, to)` (either end open when not given): a session's id is
 * made from the same clock reading as its createdAt (click.ts), so a time range of sessions is read
 * on the primary key or a `{field, _id}` index instead of an index of its own on createdAt.
 */
export function idRange(from: Date | number | undefined, to: Date | number | undefined): { $gte?: string; $lt?: string } {
  return { ...(from !== undefined ? { $gte: idFloor(+from) } : {}), ...(to !== undefined ? { $lt: idFloor(+to) } : {}) };
}

const SCOPE_FIELDS = new Set(['campaignId', 'publisherId']);

/**
 * Options for a query on sessions by id range filtered on `fields`: with none of the scopes that
 * have a `{field, _id}` index, the primary key by name, since the engine's planner may otherwise
 * walk a `{field, _id}` index whole for the `_id` bound on its second key.
 */
export function idRangeHint(fields: Iterable<string>): { hint?: { _id: 1 } } {
  for (const f of fields) if (SCOPE_FIELDS.has(f)) return {};
  return { hint: { _id: 1 } };
}
