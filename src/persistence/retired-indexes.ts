import type { mongo } from 'mongoose';
import { dropIndexIfPresent } from './index-ddl';

/**
 * Drops the indexes of `c` keyed like one of `keys`, so that a database upgraded from an earlier
 * version stops paying for them on every insert (`createIndexes` only ever adds). By key, not name:
 * names were mongoose's defaults and anyone may have made them by hand. A TTL index is someone's
 * retention and is kept. Another process starting at the same time may drop one first: no error.
 */
export async function dropRetiredIndexes<T extends mongo.Document>(c: mongo.Collection<T>, keys: readonly Record<string, 1>[]): Promise<string[]> {
  const retired = new Set(keys.map((k) => JSON.stringify(k)));
  const dropped: string[] = [];
  for (const i of await c.indexes()) {
    if (!i.name || i.expireAfterSeconds !== undefined || !retired.has(JSON.stringify(i.key))) continue;
    if (await dropIndexIfPresent(c, i.name)) dropped.push(i.name);
  }
  return dropped;
}
