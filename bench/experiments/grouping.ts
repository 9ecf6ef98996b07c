import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { v7 as uuidv7 } from 'uuid';
import { freePort, startLocalStack } from '../../src/local-stack/local-stack';
import { groupedFindById, groupedFindOne, groupedInsert, setGroupsInFlight } from '../../src/persistence/grouped-operations';
import { snapshotCpu } from '../cpu';

// The hot paths' three kinds of database operation (session insert, session lookup by id,
// conversion lookup by advertiser and txid), one command per request against grouped
// (grouped-operations.ts) with 1 and with 4 groups in flight: operations per second, the
// database's CPU per operation and the latency, 10 in flight (the click bench's 10 connections),
// 4 s per variant, three interleaved rounds. Nothing else runs on the database: this is the case
// where its CPU is the limit.
// Run: npx tsx bench/experiments/grouping.ts

function databaseCpuMs(pids: number[]): number {
  const ticks = snapshotCpu(Object.fromEntries(pids.map((pid) => [String(pid), pid]))).processes;
  return Object.values(ticks).reduce((sum, t) => sum + t, 0) * 10;
}

type S = { _id: string; advertiserId: string; campaignId: string; publisherId: string; createdAt: Date; expiresAt: Date; [k: string]: unknown };
type C = { _id: string; advertiserId: string; txidKey: string; status: string; sessionId: string };

let serial = 0;
function session(): S {
  const now = Date.now();
  const i = serial++;
  return {
    _id: uuidv7({ msecs: now }), advertiserId: 'adv1', campaignId: `c${i % 20}`, assetId: null, publisherId: `p${i % 50}`, supportId: null,
    ip: `10.0.${(i >> 8) & 255}.${i & 255}`, country: 'FR', device: { type: 'mobile', os: 'Android', browser: 'Chrome', vendor: 'Samsung', model: 'SM-G' },
    userAgent: 'Mozilla/5.0 (Linux; Android 14; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
    publisherData: { sub1: 'abc', sub2: 'def' }, referrer: 'https://pub.example/page', providers: { campaign: null, publisher: null, business: null },
    bot: false, duplicate: false, createdAt: new Date(now), expiresAt: new Date(now + 30 * 86_400_000), status: 'open', landingUrl: 'https://shop.example/x?cid=1',
  };
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ temporalPort: await freePort(), temporalUiPort: null, mongoPort: await freePort(), dataDir: mkdtempSync(path.join(tmpdir(), 'grouping-')), temporalInMemory: true });
  const pids = stack.processes().filter((p) => p.database).map((p) => p.pid);
  const client = await new MongoClient(stack.mongoUri('grouping')).connect();
  try {
    const db = client.db();
    const conversions = db.collection<C>('conversions');
    await conversions.createIndex({ advertiserId: 1, txidKey: 1 }, { unique: true });
    const lookedUp = db.collection<S>('looked_up');
    const N = 20_000;
    const ids: string[] = [];
    for (let i = 0; i < N; i += 1000) {
      const batch = Array.from({ length: 1000 }, () => session());
      ids.push(...batch.map((s) => s._id));
      await lookedUp.insertMany(batch);
      await conversions.insertMany(Array.from({ length: 1000 }, (_, j) => ({ _id: `k${i + j}`, advertiserId: `a${(i + j) % 7}`, txidKey: `t${i + j}`, status: 'approved', sessionId: ids[i + j]! })));
    }
    const inserts = (name: string) => db.collection<S>(name);
    for (const name of ['ins_one', 'ins_g1', 'ins_g4']) for (const key of [{ campaignId: 1, _id: 1 }, { publisherId: 1, _id: 1 }, { advertiserId: 1, _id: 1 }] as Record<string, 1>[]) await inserts(name).createIndex(key);
    const pick = () => Math.floor(Math.random() * N * 1.1); // a tenth not found: new transaction ids, mistyped click ids
    const projection = { advertiserId: 1, campaignId: 1, expiresAt: 1 } as const;
    const insertG1 = groupedInsert<S>('insert', () => inserts('ins_g1'));
    const insertG4 = groupedInsert<S>('insert', () => inserts('ins_g4'));
    const byId = groupedFindById<S, S>('lookup', () => lookedUp, projection);
    const byTxid = groupedFindOne<C, C>('lookup', () => conversions, ['advertiserId', 'txidKey'], { _id: 1, status: 1, sessionId: 1 });
    const txid = () => { const i = pick(); return { advertiserId: `a${i % 7}`, txidKey: `t${i}` }; };
    const variants: [string, number, () => Promise<unknown>][] = [
      ['session insert, one each', 0, () => inserts('ins_one').insertOne(session())],
      ['session insert, grouped, 1 in flight', 1, () => insertG1(session())],
      ['session insert, grouped, 4 in flight', 4, () => insertG4(session())],
      ['session lookup, findOne each', 0, () => lookedUp.findOne({ _id: ids[pick()] ?? 'none' }, { projection })],
      ['session lookup, grouped, 1 in flight', 1, () => byId(ids[pick()] ?? 'none')],
      ['session lookup, grouped, 4 in flight', 4, () => byId(ids[pick()] ?? 'none')],
      ['conversion lookup, findOne each', 0, () => conversions.findOne(txid(), { projection: { _id: 1, status: 1, sessionId: 1 } })],
      ['conversion lookup, grouped, 1 in flight', 1, () => byTxid(txid())],
      ['conversion lookup, grouped, 4 in flight', 4, () => byTxid(txid())],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [name, groups, operation] of variants) {
        if (groups) setGroupsInFlight(groups);
        const cpu0 = databaseCpuMs(pids);
        const t0 = Date.now();
        let n = 0;
        const latencies: number[] = [];
        await Promise.all(Array.from({ length: 10 }, async () => {
          while (Date.now() - t0 < 4_000) {
            const s = performance.now();
            await operation();
            n++;
            latencies.push(performance.now() - s);
          }
        }));
        latencies.sort((a, b) => a - b);
        const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
        console.log(`round ${round}, ${name}: ${Math.round((n * 1000) / (Date.now() - t0))}/s, ${((databaseCpuMs(pids) - cpu0) / n).toFixed(3)} ms of database CPU each, p50 ${p(0.5)} p99 ${p(0.99)} ms`);
      }
    }
  } finally {
    await client.close();
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
