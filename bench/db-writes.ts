import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { POSTGRES_BIN } from '../src/local-stack/local-stack';

// The rows the database writes for one request, hot path and engine together, counted by
// PostgreSQL under FerretDB (pg_stat_user_tables of each collection's documents table). Unlike
// throughput on this shared machine these counts do not move from run to run, so they show what a
// change to the engine's bookkeeping saves. DocumentDB's secondary indexes are expressions over the
// whole document, so an update in a collection that has one is never HOT (heap-only): it writes the
// row again and a new entry in each of the collection's indexes.

export interface TableWrites {
  inserts: number;
  updates: number;
  /** Updates that wrote no index entries (under DocumentDB, only where `_id` is the collection's one index). */
  hotUpdates: number;
  deletes: number;
  /** PostgreSQL indexes of the documents table, its `_id` index included. */
  indexes: number;
}

/** The databases of clicktrail and of the MongoDB-only baselines in a bench run (run.ts, context.ts). */
export const CLICKTRAIL_DB = 'clicktrail_bench';
export const BASELINE_DB = 'bench_baseline';

/** By `database.collection`. */
export type WriteSnapshot = Map<string, TableWrites>;

export interface WritesPerRequest {
  collection: string;
  indexes: number;
  inserts: number;
  updates: number;
  deletes: number;
  /** Index entries written: each insert and each non-HOT update writes one per index. */
  indexEntries: number;
}

/**
 * PostgreSQL publishes a backend's counts when it has been idle for up to 10 s (PGSTAT_IDLE_INTERVAL
 * in PostgreSQL 15): a snapshot taken sooner after writes may miss some of them.
 */
export const STATS_SETTLE_MS = 11_000;

const QUERY = `select c.database_name, c.collection_name, s.n_tup_ins, s.n_tup_upd, s.n_tup_hot_upd, s.n_tup_del,
  (select count(*) from pg_index i where i.indrelid = s.relid)
  from documentdb_api_catalog.collections c
  join pg_stat_user_tables s on s.relname = 'documents_' || c.collection_id`;

/** The counts once the writes made so far are published (STATS_SETTLE_MS from now). */
export async function settledWrites(dataDir: string): Promise<WriteSnapshot | null> {
  await new Promise((r) => setTimeout(r, STATS_SETTLE_MS));
  return snapshotWrites(dataDir);
}

/** The counts now; null when the database is not the local stack's PostgreSQL (nothing to read). */
export async function snapshotWrites(dataDir: string): Promise<WriteSnapshot | null> {
  const socketDir = path.join(dataDir, 'postgresql');
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(path.join(POSTGRES_BIN, 'psql'), ['-h', socketDir, '-U', 'postgres', '-d', 'postgres', '-X', '-A', '-t', '-F', '\t', '-c', QUERY]));
  } catch {
    return null;
  }
  return parseSnapshot(stdout);
}

export function parseSnapshot(psqlOutput: string): WriteSnapshot {
  const snapshot: WriteSnapshot = new Map();
  for (const line of psqlOutput.split('\n')) {
    const [db, collection, ...counts] = line.split('\t');
    if (!db || !collection || counts.length !== 5) continue;
    const [inserts, updates, hotUpdates, deletes, indexes] = counts.map(Number) as [number, number, number, number, number];
    snapshot.set(`${db}.${collection}`, { inserts, updates, hotUpdates, deletes, indexes });
  }
  return snapshot;
}

/** What the collections of `db` wrote between the snapshots, per request, most index entries first. */
export function writesPerRequest(before: WriteSnapshot, after: WriteSnapshot, db: string, requests: number): WritesPerRequest[] {
  const per = (n: number) => Math.round((n / requests) * 100) / 100;
  const rows: WritesPerRequest[] = [];
  for (const [key, a] of after) {
    if (!key.startsWith(`${db}.`)) continue;
    const b = before.get(key) ?? { inserts: 0, updates: 0, hotUpdates: 0, deletes: 0, indexes: a.indexes };
    const inserts = a.inserts - b.inserts;
    const updates = a.updates - b.updates;
    const deletes = a.deletes - b.deletes;
    if (inserts + updates + deletes === 0) continue;
    const nonHot = updates - (a.hotUpdates - b.hotUpdates);
    rows.push({ collection: key.slice(db.length + 1), indexes: a.indexes, inserts: per(inserts), updates: per(updates), deletes: per(deletes), indexEntries: per((inserts + nonHot) * a.indexes) });
  }
  return rows.sort((x, y) => y.indexEntries - x.indexEntries || x.collection.localeCompare(y.collection));
}

/** The rows of all collections together. */
export function totalWrites(rows: readonly WritesPerRequest[]): Omit<WritesPerRequest, 'collection' | 'indexes'> {
  const sum = (f: (r: WritesPerRequest) => number) => Math.round(rows.reduce((n, r) => n + f(r), 0) * 100) / 100;
  return { inserts: sum((r) => r.inserts), updates: sum((r) => r.updates), deletes: sum((r) => r.deletes), indexEntries: sum((r) => r.indexEntries) };
}
