import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { LocalStackError, freePort, startLocalStack, type LocalStack } from '../../src/local-stack/local-stack';

// The local engine as `npm start` runs it: a stack of its own on a data directory, started, stopped
// and started again. Documents and indexes must survive, and a stop must leave nothing running.

let dir: string;
let stack: LocalStack | null = null;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clicktrail-engine-'));
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<{ stack: LocalStack; mongoPort: number }> {
  const [temporalPort, mongoPort] = [await freePort(), await freePort()];
  stack = await startLocalStack({ temporalPort, temporalUiPort: null, mongoPort, dataDir: dir, temporalInMemory: true, startTimeoutMs: 90_000 });
  return { stack, mongoPort };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function withDb<T>(uri: string, fn: (db: mongoose.mongo.Db) => Promise<T>): Promise<T> {
  const client = await new mongoose.mongo.MongoClient(uri).connect();
  try {
    return await fn(client.db());
  } finally {
    await client.close();
  }
}

test('data and indexes survive a stop and a start of the stack, a running cluster is not started twice, and a stop leaves nothing running', async () => {
  const first = await start();
  await withDb(first.stack.mongoUri('restart'), async (db) => {
    const things = db.collection<{ _id: string; campaignId: string; n: number }>('things');
    await things.createIndex({ campaignId: 1, n: 1 }, { unique: true, name: 'campaign_n' });
    await things.insertMany([
      { _id: 't1', campaignId: 'c1', n: 1 },
      { _id: 't2', campaignId: 'c1', n: 2 },
    ]);
  });
  await first.stack.stop();
  stack = null;
  expect(await listening(first.mongoPort)).toBe(false);
  // PostgreSQL removes its lock file last when it has shut down.
  expect(existsSync(path.join(dir, 'postgresql', 'postmaster.pid'))).toBe(false);

  const second = await start();
  await withDb(second.stack.mongoUri('restart'), async (db) => {
    const things = db.collection<{ _id: string; campaignId: string; n: number }>('things');
    expect(await things.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 't1', campaignId: 'c1', n: 1 },
      { _id: 't2', campaignId: 'c1', n: 2 },
    ]);
    expect((await things.indexes()).map((i) => i.name).sort()).toEqual(['_id_', 'campaign_n']);
    await expect(things.insertOne({ _id: 't3', campaignId: 'c1', n: 2 })).rejects.toMatchObject({ code: 11000 });
  });
  // A second stack on a data directory whose PostgreSQL still runs (as after a run killed without
  // its stop) says so and starts nothing.
  const [temporalPort, mongoPort] = [await freePort(), await freePort()];
  await expect(startLocalStack({ temporalPort, temporalUiPort: null, mongoPort, dataDir: dir, temporalInMemory: true })).rejects.toThrow(
    /^a PostgreSQL server \(pid \d+\) from an earlier run still uses .*postgresql: stop it \(kill -INT \d+\) or choose another LOCAL_DATA_DIR$/,
  );
  expect([await listening(temporalPort), await listening(mongoPort)]).toEqual([false, false]);

  await second.stack.stop();
  stack = null;
  expect(await listening(second.mongoPort)).toBe(false);
  expect(existsSync(path.join(dir, 'postgresql', 'postmaster.pid'))).toBe(false);
}, 240_000);

test('a port in use stops the start with a message naming it, and starts nothing', async () => {
  const blocker = net.createServer();
  const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)));
  try {
    const temporalPort = await freePort();
    await expect(startLocalStack({ temporalPort, temporalUiPort: null, mongoPort: port, dataDir: dir, temporalInMemory: true })).rejects.toThrow(
      new LocalStackError(`port ${port} for FerretDB (LOCAL_MONGO_PORT) on 127.0.0.1 is already in use: stop what holds it or choose another port`),
    );
    expect(await listening(temporalPort)).toBe(false);
    expect(existsSync(path.join(dir, 'postgresql', 'postmaster.pid'))).toBe(false);
  } finally {
    blocker.close();
  }
});
