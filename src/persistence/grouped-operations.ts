import { mongo } from 'mongoose';

// The hot paths' inserts and lookups, grouped: while MONGO_GROUPS_IN_FLIGHT operations of a kind
// are at the database, the requests that arrive wait, and go together in the next. At low traffic
// nothing waits; under load each round trip carries every request that came meanwhile, so each
// statement, commit and index pass is paid per group, not per request. Each caller still waits for
// its own document; a group's failure is each of its callers' (their fallbacks apply), and a
// document the database refuses fails only its own caller. Measured, and why 4 and not 1:
// bench/results/experiments/grouping.md.
//
// Hand-written, not DataLoader: DataLoader groups what arrives within one tick, and each request is
// its own tick here, so its groups would hold one request; it also caches by key, which a write must not.

let inFlight = 4;

/** Set once at start from MONGO_GROUPS_IN_FLIGHT (connectDatabase). */
export function setGroupsInFlight(n: number): void {
  inFlight = n;
}

/** More than this many waiting means the database is not keeping up: callers fail at once, to their fallbacks. */
const MAX_WAITING = 10_000;
const MAX_GROUP = 500;

type Waiter<I, O> = { item: I; resolve: (value: O) => void; reject: (err: unknown) => void };

export class GroupsFull extends Error {
  override readonly name = 'GroupsFull';
}

/**
 * `run` gets a group of items and answers each, in order, with its result or an Error of its own;
 * if it throws, every item of the group fails with that error.
 */
export function grouped<I, O>(what: string, run: (items: I[]) => Promise<(O | Error)[]>): (item: I) => Promise<O> {
  let waiting: Waiter<I, O>[] = [];
  let running = 0;
  const next = (): void => {
    if (running >= inFlight || waiting.length === 0) return;
    const group = waiting.slice(0, MAX_GROUP);
    waiting = waiting.slice(group.length);
    running++;
    run(group.map((w) => w.item))
      .then(
        (results) => group.forEach((w, i) => (results[i] instanceof Error ? w.reject(results[i]) : w.resolve(results[i] as O))),
        (err: unknown) => group.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        running--;
        next();
      });
  };
  return (item) =>
    new Promise<O>((resolve, reject) => {
      if (waiting.length >= MAX_WAITING) return reject(new GroupsFull(`${what}: ${MAX_WAITING} already waiting for the database`));
      waiting.push({ item, resolve, reject });
      next();
    });
}

/** insertOne, grouped into unordered insertMany: a refused document (duplicate id…) does not stop the others. */
export function groupedInsert<T extends mongo.Document>(what: string, collection: () => mongo.Collection<T>): (doc: mongo.OptionalUnlessRequiredId<T>) => Promise<void> {
  return grouped<mongo.OptionalUnlessRequiredId<T>, void>(what, async (docs) => {
    try {
      await collection().insertMany(docs, { ordered: false });
      return docs.map(() => undefined);
    } catch (err) {
      if (!(err instanceof mongo.MongoBulkWriteError) || err.writeConcernError) throw err;
      const refused = new Map([err.writeErrors].flat().map((e) => [e.index, e]));
      if (refused.size === 0) throw err;
      return docs.map((_, i) => {
        const e = refused.get(i);
        return e ? Object.assign(new Error(`${what}: ${e.errmsg ?? 'refused'}`), { code: e.code }) : undefined;
      });
    }
  });
}

/** findOne({ _id }), grouped into one find by `$in`: null for an id not found. */
export function groupedFindById<D extends { _id: string }, T extends { _id: string }>(
  what: string,
  collection: () => mongo.Collection<D>,
  projection: Record<string, 1>,
): (id: string) => Promise<T | null> {
  return grouped(what, async (ids) => {
    const filter = { _id: { $in: [...new Set(ids)] } } as mongo.Filter<D>;
    const found = await collection().find<T>(filter, { projection }).toArray();
    const byId = new Map(found.map((d) => [d._id, d]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}

/**
 * findOne by equality on `fields`, grouped into one find by `$or`: each caller's first match, or
 * null. Each branch is an equality on an index's fields, so the database answers from the index.
 */
export function groupedFindOne<D extends mongo.Document, T extends mongo.Document>(
  what: string,
  collection: () => mongo.Collection<D>,
  fields: readonly string[],
  projection: Record<string, 1>,
): (filter: Record<string, string>) => Promise<T | null> {
  const keyOf = (d: Record<string, unknown>) => JSON.stringify(fields.map((f) => d[f]));
  return grouped(what, async (filters) => {
    const distinct = [...new Map(filters.map((f) => [keyOf(f), f])).values()];
    const query = (distinct.length === 1 ? distinct[0] : { $or: distinct }) as mongo.Filter<D>;
    const found = await collection()
      .find<T>(query, { projection: { ...projection, ...Object.fromEntries(fields.map((f) => [f, 1])) } })
      .toArray();
    const byKey = new Map<string, T>();
    for (const d of found) if (!byKey.has(keyOf(d))) byKey.set(keyOf(d), d);
    return filters.map((f) => byKey.get(keyOf(f)) ?? null);
  });
}
