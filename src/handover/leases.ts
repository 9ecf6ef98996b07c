import type { mongo } from 'mongoose';
import type { HandoverLease } from '../persistence/models/session';

// A claim on queue items (stored sessions, accepted conversions) so that several hand-over
// processes never hand the same item over twice: one updateMany sets a lease on the ids read, and
// the items whose lease is this claim's are the batch. A lease that has run out (its process was
// killed, or is stuck) is free for anyone: nothing is lost with a process.

type Leased = mongo.Document & { _id: string; handoverLease?: HandoverLease };

function free(now: Date): mongo.Filter<Leased> {
  return { $or: [{ handoverLease: { $exists: false } }, { 'handoverLease.until': { $lte: now } }] } as mongo.Filter<Leased>;
}

export interface Claim<T> {
  by: string;
  until: Date;
  items: T[];
}

/** Up to `limit` free items matching `queue`, oldest first (`sort`), leased to `by` for `leaseMs`. */
export async function claim<T extends Leased>(
  collection: mongo.Collection<T>,
  o: { queue: mongo.Filter<T>; sort: mongo.Sort; limit: number; by: string; leaseMs: number },
): Promise<Claim<T>> {
  const now = new Date();
  const until = new Date(now.getTime() + o.leaseMs);
  const open = { ...o.queue, ...free(now) } as unknown as mongo.Filter<T>;
  const candidates = await collection.find(open, { projection: { _id: 1 } }).sort(o.sort).limit(o.limit).toArray();
  if (candidates.length === 0) return { by: o.by, until, items: [] };
  const ids = candidates.map((c) => c._id);
  // Per document the filter and the write are one step: of two claims racing for an item, one gets it.
  await collection.updateMany({ _id: { $in: ids }, ...open } as unknown as mongo.Filter<T>, { $set: { handoverLease: { by: o.by, until } } } as unknown as mongo.UpdateFilter<T>);
  const items = (await collection.find({ _id: { $in: ids }, 'handoverLease.by': o.by } as unknown as mongo.Filter<T>).sort(o.sort).toArray()) as T[];
  return { by: o.by, until, items };
}

/** Gives the claim's items back at once (shutdown, an outage): anyone may take them. */
export async function release<T extends Leased>(collection: mongo.Collection<T>, by: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await collection.updateMany({ _id: { $in: ids }, 'handoverLease.by': by } as unknown as mongo.Filter<T>, { $unset: { handoverLease: '' } } as unknown as mongo.UpdateFilter<T>);
}

/** Keeps one refused item to this claim until `until`: it is retried then, by whoever claims it. */
export async function holdUntil<T extends Leased>(collection: mongo.Collection<T>, by: string, id: string, until: Date): Promise<void> {
  await collection.updateOne({ _id: id, 'handoverLease.by': by } as unknown as mongo.Filter<T>, { $set: { 'handoverLease.until': until } } as unknown as mongo.UpdateFilter<T>);
}
