import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { v7 as uuidv7 } from 'uuid';
import { freePort, startLocalStack } from '../../src/local-stack/local-stack';
import { snapshotCpu } from '../cpu';

// What each secondary index of `sessions` costs a click's insert on the local engine: the same
// session-shaped documents inserted (10 in flight, 4 s each) into collections with 1, 3, 4, 5, 7 and 8
// indexes, interleaved over three rounds, with the database's CPU per insert from /proc.
// Run: npx tsx bench/experiments/index-cost.ts

/** ms of CPU of the database processes and everything they started (PostgreSQL's backends). */
function databaseCpuMs(pids: number[]): number {
  const ticks = snapshotCpu(Object.fromEntries(pids.map((pid) => [String(pid), pid]))).processes;
  return Object.values(ticks).reduce((sum, t) => sum + t, 0) * 10; // USER_HZ ticks of 10 ms
}

const ALL_VARIANTS: Record<string, Record<string, 1>[]> = {
  '1 (_id)': [],
  '2 (one multikey {scopes,_id} for the three scopes)': [{ scopes: 1, _id: 1 }],
  '3': [{ workflowStarted: 1, createdAt: 1 }, { publisherId: 1, _id: 1 }],
  '5': [{ workflowStarted: 1, createdAt: 1 }, { publisherId: 1, _id: 1 }, { advertiserId: 1, _id: 1 }, { campaignId: 1, _id: 1 }],
  '4 (sessions since the id ranges)': [{ campaignId: 1, _id: 1 }, { publisherId: 1, _id: 1 }, { advertiserId: 1, _id: 1 }],
  '7 (sessions before the id ranges)': [
    { campaignId: 1, createdAt: 1 }, { publisherId: 1, createdAt: 1 }, { advertiserId: 1, createdAt: 1 }, { createdAt: 1 }, { publisherId: 1, _id: 1 }, { advertiserId: 1, _id: 1 },
  ],
  '8 (last round\'s sessions)': [
    { workflowStarted: 1, createdAt: 1 }, { campaignId: 1, createdAt: 1 }, { publisherId: 1, createdAt: 1 }, { advertiserId: 1, createdAt: 1 },
    { createdAt: 1 }, { publisherId: 1, _id: 1 }, { advertiserId: 1, _id: 1 },
  ],
};

// INDEX_COST_VARIANTS=name,name… runs a subset (names up to their first space).
const only = process.env.INDEX_COST_VARIANTS?.split(',');
const VARIANTS = Object.fromEntries(Object.entries(ALL_VARIANTS).filter(([name]) => !only || only.includes(name.split(' ')[0]!)));

function session(i: number) {
  const now = Date.now();
  return {
    _id: uuidv7({ msecs: now }), advertiserId: 'adv1', campaignId: `c${i % 20}`, assetId: null, publisherId: `p${i % 50}`, supportId: null,
    scopes: [`c:c${i % 20}`, `p:p${i % 50}`, 'a:adv1'],
    ip: `10.0.${(i >> 8) & 255}.${i & 255}`, country: 'FR', device: { type: 'mobile', os: 'Android', browser: 'Chrome', vendor: 'Samsung', model: 'SM-G' },
    userAgent: 'Mozilla/5.0 (Linux; Android 14; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
    publisherData: { sub1: 'abc', sub2: 'def' }, referrer: 'https://pub.example/page', providers: { campaign: null, publisher: null, business: null },
    bot: false, duplicate: false, createdAt: new Date(now), expiresAt: new Date(now + 30 * 86_400_000), status: 'open', landingUrl: 'https://shop.example/x?cid=1',
  };
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ temporalPort: await freePort(), temporalUiPort: null, mongoPort: await freePort(), dataDir: mkdtempSync(path.join(tmpdir(), 'index-cost-')), temporalInMemory: true });
  const pids = stack.processes().filter((p) => p.database).map((p) => p.pid);
  const client = await new MongoClient(stack.mongoUri('index_cost')).connect();
  try {
    const names = Object.keys(VARIANTS);
    for (const [i, name] of names.entries()) for (const key of VARIANTS[name]!) await client.db().collection(`v${i}`).createIndex(key);
    for (let round = 0; round < 3; round++) {
      for (const [i, name] of names.entries()) {
        const c = client.db().collection(`v${i}`);
        const cpu0 = databaseCpuMs(pids);
        const t0 = Date.now();
        let n = 0;
        await Promise.all(Array.from({ length: 10 }, async () => {
          while (Date.now() - t0 < 4_000) await c.insertOne(session(n++) as never);
        }));
        console.log(`round ${round}, ${name} indexes: ${Math.round((n * 1000) / (Date.now() - t0))} inserts/s, ${((databaseCpuMs(pids) - cpu0) / n).toFixed(3)} ms of database CPU per insert`);
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
