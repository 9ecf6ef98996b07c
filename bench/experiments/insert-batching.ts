import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient, type Collection } from 'mongodb';
import { v7 as uuidv7 } from 'uuid';
import { freePort, startLocalStack } from '../../src/local-stack/local-stack';
import { snapshotCpu } from '../cpu';

// Does grouping the inserts of concurrent clicks into one insertMany cut the database's work per
// click? 10 inserts in flight (as the click bench's 10 connections), 4 s per variant, three
// interleaved rounds, into `sessions`' current indexes: one insertOne per click, against
// clicks that arrive while an insert is in flight waiting for it and going together in the next.
// Run: npx tsx bench/experiments/insert-batching.ts

function databaseCpuMs(pids: number[]): number {
  const ticks = snapshotCpu(Object.fromEntries(pids.map((pid) => [String(pid), pid]))).processes;
  return Object.values(ticks).reduce((sum, t) => sum + t, 0) * 10;
}

const INDEXES = [{ campaignId: 1, _id: 1 }, { publisherId: 1, _id: 1 }, { advertiserId: 1, _id: 1 }] as const;

function session(i: number) {
  const now = Date.now();
  return {
    _id: uuidv7({ msecs: now }), advertiserId: 'adv1', campaignId: `c${i % 20}`, assetId: null, publisherId: `p${i % 50}`, supportId: null,
    ip: `10.0.${(i >> 8) & 255}.${i & 255}`, country: 'FR', device: { type: 'mobile', os: 'Android', browser: 'Chrome', vendor: 'Samsung', model: 'SM-G' },
    userAgent: 'Mozilla/5.0 (Linux; Android 14; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
    publisherData: { sub1: 'abc', sub2: 'def' }, referrer: 'https://pub.example/page', providers: { campaign: null, publisher: null, business: null },
    bot: false, duplicate: false, createdAt: new Date(now), expiresAt: new Date(now + 30 * 86_400_000), status: 'open', landingUrl: 'https://shop.example/x?cid=1',
  };
}

function batcher(c: Collection, maxInFlight: number) {
  let waiting: { doc: object; done: (err?: unknown) => void }[] = [];
  let inFlight = 0;
  const flush = (): void => {
    if (inFlight >= maxInFlight || waiting.length === 0) return;
    const batch = waiting;
    waiting = [];
    inFlight++;
    c.insertMany(batch.map((w) => w.doc) as never[], { ordered: false }).then(
      () => batch.forEach((w) => w.done()),
      (err: unknown) => batch.forEach((w) => w.done(err)),
    ).finally(() => {
      inFlight--;
      flush();
    });
  };
  return (doc: object) => new Promise<void>((resolve, reject) => {
    waiting.push({ doc, done: (err) => (err ? reject(err) : resolve()) });
    flush();
  });
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ temporalPort: await freePort(), temporalUiPort: null, mongoPort: await freePort(), dataDir: mkdtempSync(path.join(tmpdir(), 'insert-batching-')), temporalInMemory: true });
  const pids = stack.processes().filter((p) => p.database).map((p) => p.pid);
  const client = await new MongoClient(stack.mongoUri('insert_batching')).connect();
  try {
    const variants: Record<string, (c: Collection) => (doc: object) => Promise<unknown>> = {
      'insertOne each': (c) => (doc) => c.insertOne(doc as never),
      'grouped, 1 in flight': (c) => batcher(c, 1),
      'grouped, 2 in flight': (c) => batcher(c, 2),
    };
    const names = Object.keys(variants);
    for (const [i] of names.entries()) for (const key of INDEXES) await client.db().collection(`v${i}`).createIndex(key);
    for (let round = 0; round < 3; round++) {
      for (const [i, name] of names.entries()) {
        const insert = variants[name]!(client.db().collection(`v${i}`));
        const cpu0 = databaseCpuMs(pids);
        const t0 = Date.now();
        let n = 0;
        const latencies: number[] = [];
        await Promise.all(Array.from({ length: 10 }, async () => {
          while (Date.now() - t0 < 4_000) {
            const s = performance.now();
            await insert(session(n++));
            latencies.push(performance.now() - s);
          }
        }));
        latencies.sort((a, b) => a - b);
        const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
        console.log(`round ${round}, ${name}: ${Math.round((n * 1000) / (Date.now() - t0))} inserts/s, ${((databaseCpuMs(pids) - cpu0) / n).toFixed(3)} ms of database CPU per insert, p50 ${p(0.5)} p99 ${p(0.99)} ms`);
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
