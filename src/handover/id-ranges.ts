import type { mongo } from 'mongoose';
import { handoverState, type HandoverStateDoc, type IdRangeClaim, type LogName } from '../persistence/models/handover-state';
import { idFloor, idTime } from '../persistence/session-ids';

// Which items of a log (stored sessions, accepted conversions) the hand-over has taken to
// Temporal, without writing to them. Their ids are UUIDv7, so id order is arrival order: the
// hand-over claims the next range of ids after a cursor, hands those items over, and forgets the
// range. An item costs its insert and nothing more in MongoDB (a lease and a mark per item cost
// that insert twice again, with every index of the collection rewritten).
//
// A range is claimed only once its newest id is `settleMs` old: the hot path that wrote an item
// answered it only if its insert was acknowledged within that time of the id's clock reading
// (click.ts starts a slower click's workflow itself; conversion-intake.ts answers a slower
// conversion 503). All state is one document per log changed by compare-and-set, so processes
// racing for a range never both get it.

const CAS_ATTEMPTS = 8;

/** A log the hand-over walks: its collection, and which of its items are the hand-over's to take. */
export interface IdLog<T extends { _id: string }> {
  name: LogName;
  collection: () => mongo.Collection<T>;
  /** Items to hand over (others in the id range, such as rejected requests, are passed over). */
  pending: mongo.Filter<T>;
}

export type Claimed<T> = { claim: IdRangeClaim; items: T[]; full: boolean };
export type NothingClaimed = {
  claim: null;
  /** When the oldest item waiting to settle can be claimed (ms), if any is waiting. */
  wakeAt: number | null;
  /** Nothing past the cursor and no claim open: only an item stored from now on is work. */
  idle: boolean;
};

export async function readState<T extends { _id: string }>(log: IdLog<T>): Promise<HandoverStateDoc> {
  return (await handoverState().findOne({ _id: log.name })) ?? (await createState(log));
}

/**
 * The first hand-over of a log starts at its oldest pending item (a full scan, once: nothing is
 * indexed for it), or after its newest item when none is pending.
 */
async function createState<T extends { _id: string }>(log: IdLog<T>): Promise<HandoverStateDoc> {
  const ids = (filter: mongo.Filter<T>, dir: 1 | -1) =>
    log.collection().find(filter, { projection: { _id: 1 } }).sort({ _id: dir }).hint({ _id: 1 }).limit(1).toArray();
  const waiting = await ids(log.pending, 1);
  const newest = waiting.length ? [] : await ids({}, -1);
  // Just below the oldest pending id (the 35-character prefix sorts before it and after every other id).
  const next = waiting.length ? waiting[0]!._id.slice(0, -1) : (newest[0]?._id ?? '');
  await handoverState().updateOne({ _id: log.name }, { $setOnInsert: { next, claims: [], v: 0 } }, { upsert: true });
  return (await handoverState().findOne({ _id: log.name }))!;
}

/** Replaces the state if nobody changed it since `s` was read. */
async function swap(s: HandoverStateDoc, next: Pick<HandoverStateDoc, 'next' | 'claims'>): Promise<boolean> {
  const r = await handoverState().replaceOne({ _id: s._id, v: s.v }, { ...next, v: s.v + 1 } as HandoverStateDoc);
  return r.modifiedCount === 1;
}

async function read<T extends { _id: string }>(log: IdLog<T>, filter: mongo.Filter<T>, limit?: number): Promise<T[]> {
  // The _id index by name: the engine's planner may otherwise walk a {field, _id} index whole.
  const q = log.collection().find({ ...filter, ...log.pending } as mongo.Filter<T>).sort({ _id: 1 }).hint({ _id: 1 });
  return (await (limit ? q.limit(limit) : q).toArray()) as T[];
}

/**
 * The next work for `by`: a claim whose holder is gone (or whose refused items are due again),
 * else the next range of up to `limit` settled items after the cursor.
 */
export async function claimRange<T extends { _id: string }>(
  log: IdLog<T>,
  o: { by: string; leaseMs: number; limit: number; settleMs: number },
): Promise<Claimed<T> | NothingClaimed> {
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const now = Date.now();
    const until = new Date(now + o.leaseMs);
    const s = await readState(log);

    const stale = s.claims.find((c) => c.until.getTime() <= now);
    if (stale) {
      const mine = { ...stale, by: o.by, until };
      if (!(await swap(s, { next: s.next, claims: s.claims.map((c) => (c === stale ? mine : c)) }))) continue;
      const items = await read(log, { _id: stale.retry ? { $in: stale.retry } : { $gt: stale.from, $lte: stale.to } } as mongo.Filter<T>);
      // `full`: whatever else waits (more stale claims, new ranges) is looked at in the next round at once.
      return { claim: mine, items, full: true };
    }

    const bound = idFloor(now - o.settleMs);
    const items = await read(log, { _id: { $gt: s.next, $lt: bound } } as mongo.Filter<T>, o.limit);
    if (items.length === 0) {
      const [newer] = await log.collection().find({ _id: { $gt: s.next } } as mongo.Filter<T>, { projection: { _id: 1 } }).sort({ _id: 1 }).hint({ _id: 1 }).limit(1).toArray();
      // Only items with nothing to hand over (rejected requests, lazy sessions, imported history)
      // lie before the bound: the cursor moves past them, so that no later round reads them again.
      if (newer && newer._id < bound) {
        await swap(s, { next: bound, claims: s.claims });
        continue;
      }
      const madeAt = newer ? idTime(newer._id) : NaN;
      return { claim: null, wakeAt: Number.isFinite(madeAt) ? madeAt + o.settleMs : null, idle: !newer && s.claims.length === 0 };
    }
    const claim: IdRangeClaim = { from: s.next, to: items[items.length - 1]!._id, by: o.by, until };
    if (!(await swap(s, { next: claim.to, claims: [...s.claims, claim] }))) continue;
    return { claim, items, full: items.length >= o.limit };
  }
  // Every attempt lost a race: others are claiming, this process tries at its next round.
  return { claim: null, wakeAt: null, idle: false };
}

/**
 * Ends `claim`: forgotten when every item was handed over, else kept with only `retry` in it, to
 * be claimed again from `retryAt`. Nothing changes if another process has taken the claim over.
 */
export async function finishClaim<T extends { _id: string }>(log: IdLog<T>, claim: IdRangeClaim, retry: readonly string[], retryAt: Date): Promise<void> {
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const s = await readState(log);
    const at = s.claims.findIndex((c) => c.from === claim.from && c.by === claim.by);
    if (at < 0) return;
    const claims = retry.length ? s.claims.map((c, i) => (i === at ? { ...c, until: retryAt, retry: [...retry] } : c)) : s.claims.filter((_, i) => i !== at);
    if (await swap(s, { next: s.next, claims })) return;
  }
  throw new Error(`hand-over state of ${log.name} kept changing: could not finish a claim`);
}

/** Whether the hand-over has taken item `id` (a range it finished, or one it is not retrying). */
export function handedOver(s: HandoverStateDoc, id: string): boolean {
  if (id > s.next) return false;
  return !s.claims.some((c) => id > c.from && id <= c.to && (!c.retry || c.retry.includes(id)));
}

/** Items of the claims not finished yet. */
export function openClaims(s: HandoverStateDoc): { _id: { $in: string[] } | { $gt: string; $lte: string } }[] {
  return s.claims.map((c) => (c.retry ? { _id: { $in: c.retry } } : { _id: { $gt: c.from, $lte: c.to } }));
}

/** Pending items past the cursor: the ones no process has claimed yet. */
export function waitingFilter<T extends { _id: string }>(log: IdLog<T>, s: HandoverStateDoc): mongo.Filter<T> {
  return { _id: { $gt: s.next }, ...log.pending } as mongo.Filter<T>;
}

/** Pending items not handed over yet: past the cursor, or in a claim not finished. */
export function notHandedOverFilter<T extends { _id: string }>(log: IdLog<T>, s: HandoverStateDoc): mongo.Filter<T> {
  return { $or: [{ _id: { $gt: s.next } }, ...openClaims(s)], ...log.pending } as mongo.Filter<T>;
}
