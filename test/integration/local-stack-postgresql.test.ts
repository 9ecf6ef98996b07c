import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { LocalStackError, freePort, startLocalStack, type LocalStack } from '../../src/local-stack/local-stack';

// The bench runs FerretDB on a PostgreSQL server the local stack starts itself. This checks that
// stack end to end: documents go through FerretDB into PostgreSQL and back, unique indexes hold,
// and stopping the stack leaves no server listening.

let dir: string;
let stack: LocalStack | null = null;
let postgresPort: number;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clicktrail-pg-'));
  const [temporalPort, mongoPort] = [await freePort(), await freePort()];
  postgresPort = await freePort();
  stack = await startLocalStack({ temporalPort, temporalUiPort: null, mongoPort, dataDir: dir, temporalInMemory: true, mongoBackend: 'postgresql', postgresPort });
}, 90_000);
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('FerretDB on the stack’s own PostgreSQL stores, indexes and finds documents', async () => {
  const client = await new mongoose.mongo.MongoClient(stack!.mongoUri('pgcheck')).connect();
  try {
    const sessions = client.db().collection<{ _id: string; campaignId: string; n: number }>('sessions');
    await sessions.createIndex({ campaignId: 1, n: 1 }, { unique: true });
    await sessions.insertMany([
      { _id: 's1', campaignId: 'c1', n: 1 },
      { _id: 's2', campaignId: 'c1', n: 2 },
      { _id: 's3', campaignId: 'c2', n: 1 },
    ]);
    await expect(sessions.insertOne({ _id: 's4', campaignId: 'c1', n: 2 })).rejects.toMatchObject({ code: 11000 });
    expect(await sessions.countDocuments({ campaignId: 'c1' })).toBe(2);
    const upd = await sessions.updateOne({ _id: 's3' }, { $set: { n: 5 } });
    expect(upd.modifiedCount).toBe(1);
    expect(await sessions.findOne({ _id: 's3' })).toEqual({ _id: 's3', campaignId: 'c2', n: 5 });
  } finally {
    await client.close();
  }
});

test('a postgresql stack without a port is refused with a message that says so', async () => {
  await expect(
    startLocalStack({ temporalPort: 1, temporalUiPort: null, mongoPort: 2, dataDir: dir, mongoBackend: 'postgresql' }),
  ).rejects.toThrow(new LocalStackError('mongoBackend postgresql needs a postgresPort'));
});

test('stopping the stack stops PostgreSQL too', async () => {
  await stack!.stop();
  stack = null;
  const listening = await new Promise<boolean>((resolve) => {
    const socket = net.connect(postgresPort, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  expect(listening).toBe(false);
});
