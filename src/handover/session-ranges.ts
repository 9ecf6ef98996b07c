import type { mongo } from 'mongoose';
import { handoverState, type HandoverStateDoc, type SessionRangeClaim } from '../persistence/models/handover-state';
import { sessions, type SessionRecord } from '../persistence/models/session';
import { idFloor, idTime } from '../persistence/session-ids';

// Which stored sessions the hand-over has started, without writing to them. Session ids are
// UUIDv7, so their order is the clicks' order: the hand-over claims the next range of ids after a
// cursor, starts those sessions' workflows, and forgets the range. A click costs one insert and
// nothing more in MongoDB (an update per session for a lease and a mark cost twice that insert
// again, with every index of the collection rewritten).
//
// A range is claimed only once its newest id is `settleMs` old: an insert slower than that has
// timed out on the click path, which then started the workflow itself (click.ts). All state is one
// document changed by compare-and-set, so processes racing for a range never both get it.

const STATE_ID = 'sessions';
const CAS_ATTEMPTS = 8;

/** A session the hand-over must start: neither lazy (it waits for a conversion) nor started some other way. */
const STARTABLE = { lazy: { $ne: true }, workflowStarted: { $ne: true } } as const;

export type Claimed = { claim: SessionRangeClaim; items: SessionRecord[]; full: boolean };
export type NothingClaimed = { claim: null; /** When the oldest session waiting to settle can be claimed (ms), if any is waiting. */ wakeAt: number | null };

export async function readState(): Promise<HandoverStateDoc> {
  return (await handoverState().findOne({ _id: STATE_ID })) ?? (await createState());
}

/**
 * The first hand-over on a database starts at the oldest session not started yet (a full scan, once:
 * sessions have no index for it), or after the newest one when there is none.
 */
async function createState(): Promise<HandoverStateDoc> {
  const waiting = await sessions().find(STARTABLE, { projection: { _id: 1 } }).sort({ _id: 1 }).hint({ _id: 1 }).limit(1).toArray();
  const newest = waiting.length ? [] : await sessions().find({}, { projection: { _id: 1 } }).sort({ _id: -1 }).hint({ _id: 1 }).limit(1).toArray();
  // Just below the oldest waiting id (the 35-character prefix sorts before it and after every other id).
  const next = waiting.length ? waiting[0]!._id.slice(0, -1) : (newest[0]?._id ?? '');
  await handoverState().updateOne({ _id: STATE_ID }, { $setOnInsert: { next, claims: [], v: 0 } }, { upsert: true });
  return (await handoverState().findOne({ _id: STATE_ID }))!;
}

/** Replaces the state if nobody changed it since `s` was read. */
async function swap(s: HandoverStateDoc, next: Omit<HandoverStateDoc, '_id' | 'v'>): Promise<boolean> {
  const r = await handoverState().replaceOne({ _id: STATE_ID, v: s.v }, { ...next, v: s.v + 1 } as HandoverStateDoc);
  return r.modifiedCount === 1;
}

async function read(filter: mongo.Filter<SessionRecord>, limit?: number): Promise<SessionRecord[]> {
  // The _id index by name: the engine's planner may otherwise walk a {field, _id} index whole.
  const q = sessions().find(filter).sort({ _id: 1 }).hint({ _id: 1 });
  return (limit ? q.limit(limit) : q).toArray();
}

/**
 * The next work for `by`: a claim whose holder is gone (or whose refused sessions are due again),
 * else the next range of up to `limit` settled sessions after the cursor.
 */
export async function claimSessions(o: { by: string; leaseMs: number; limit: number; settleMs: number }): Promise<Claimed | NothingClaimed> {
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const now = Date.now();
    const until = new Date(now + o.leaseMs);
    const s = await readState();

    const stale = s.claims.find((c) => c.until.getTime() <= now);
    if (stale) {
      const mine = { ...stale, by: o.by, until };
      if (!(await swap(s, { next: s.next, claims: s.claims.map((c) => (c === stale ? mine : c)) }))) continue;
      const items = await read({ _id: stale.retry ? { $in: stale.retry } : { $gt: stale.from, $lte: stale.to }, ...STARTABLE });
      // `full`: whatever else waits (more stale claims, new ranges) is looked at in the next round at once.
      return { claim: mine, items, full: true };
    }

    const bound = idFloor(now - o.settleMs);
    const items = await read({ _id: { $gt: s.next, $lt: bound }, ...STARTABLE }, o.limit);
    if (items.length === 0) {
      const [newer] = await sessions().find({ _id: { $gt: s.next } }, { projection: { _id: 1 } }).sort({ _id: 1 }).hint({ _id: 1 }).limit(1).toArray();
      // Only sessions with nothing to start (lazy, started some other way, imported history) lie
      // before the bound: the cursor moves past them, so that no later round reads them again.
      if (newer && newer._id < bound) {
        await swap(s, { next: bound, claims: s.claims });
        continue;
      }
      const madeAt = newer ? idTime(newer._id) : NaN;
      return { claim: null, wakeAt: Number.isFinite(madeAt) ? madeAt + o.settleMs : null };
    }
    const claim: SessionRangeClaim = { from: s.next, to: items[items.length - 1]!._id, by: o.by, until };
    if (!(await swap(s, { next: claim.to, claims: [...s.claims, claim] }))) continue;
    return { claim, items, full: items.length >= o.limit };
  }
  // Every attempt lost a race: others are claiming, this process tries at its next round.
  return { claim: null, wakeAt: null };
}

/**
 * Ends `claim`: forgotten when every session was started, else kept with only `retry` in it, to be
 * claimed again from `retryAt`. Nothing changes if another process has taken the claim over.
 */
export async function finishClaim(claim: SessionRangeClaim, retry: readonly string[], retryAt: Date): Promise<void> {
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const s = await readState();
    const at = s.claims.findIndex((c) => c.from === claim.from && c.by === claim.by);
    if (at < 0) return;
    const claims = retry.length ? s.claims.map((c, i) => (i === at ? { ...c, until: retryAt, retry: [...retry] } : c)) : s.claims.filter((_, i) => i !== at);
    if (await swap(s, { next: s.next, claims })) return;
  }
  throw new Error('hand-over state kept changing: could not finish a claim');
}

/** Whether the hand-over has started the session `id` (a range it finished, or one it is not retrying). */
export function handedOver(s: HandoverStateDoc, id: string): boolean {
  if (id > s.next) return false;
  return !s.claims.some((c) => id > c.from && id <= c.to && (!c.retry || c.retry.includes(id)));
}

/** Sessions past the cursor that the hand-over will start (lazy and otherwise started ones excluded). */
export function waitingFilter(s: HandoverStateDoc): mongo.Filter<SessionRecord> {
  return { _id: { $gt: s.next }, ...STARTABLE };
}

/** Sessions whose workflow has been started: by the hand-over (as `handedOver`), or some other way. */
export function startedFilter(s: HandoverStateDoc): mongo.Filter<SessionRecord> {
  const open = s.claims.map((c) => (c.retry ? { _id: { $in: c.retry } } : { _id: { $gt: c.from, $lte: c.to } }));
  return { $or: [{ workflowStarted: true }, { _id: { $lte: s.next }, lazy: { $ne: true }, ...(open.length ? { $nor: open } : {}) }] } as mongo.Filter<SessionRecord>;
}
