import mongoose from 'mongoose';
import { RETIRED_INBOUND_INDEXES, inbounds } from '../../src/persistence/models/inbound';
import { RETIRED_SESSION_INDEXES, sessions } from '../../src/persistence/models/session';
import { dropRetiredIndexes } from '../../src/persistence/retired-indexes';
import { sharedStack, startTestApp, testAppEnv, type TestApp } from '../support/harness';

// A database of an earlier version has the session indexes no query needs any more: a start
// drops them (createIndexes alone never would), whatever their names, and leaves the rest.

let app: TestApp | undefined;
afterAll(async () => {
  await app?.stop();
});

const keys = async () => (await sessions().indexes()).map((i) => JSON.stringify(i.key));
const inboundKeys = async () => (await inbounds().indexes()).map((i) => JSON.stringify(i.key));
const INBOUND = [JSON.stringify({ _id: 1 })];
const CURRENT = [{ _id: 1 }, { campaignId: 1, _id: 1 }, { publisherId: 1, _id: 1 }].map((k) => JSON.stringify(k));

test('a start on an upgraded database drops the retired session and inbound indexes and keeps the current ones', async () => {
  app = await startTestApp();
  const uri = testAppEnv(app.dbName, sharedStack()).MONGODB_URI;
  // As the earlier version left them: mongoose's default names, and one made by hand under another name.
  for (const key of RETIRED_SESSION_INDEXES.slice(1)) await sessions().createIndex(key);
  await sessions().createIndex(RETIRED_SESSION_INDEXES[0]!, { name: 'by_campaign_and_time' });
  expect(await keys()).toEqual([...CURRENT, ...[...RETIRED_SESSION_INDEXES.slice(1), RETIRED_SESSION_INDEXES[0]].map((k) => JSON.stringify(k))]);
  for (const key of RETIRED_INBOUND_INDEXES) await inbounds().createIndex(key);
  expect(await inboundKeys()).toEqual([...INBOUND, ...RETIRED_INBOUND_INDEXES.map((k) => JSON.stringify(k))]);
  await app.stop();
  app = undefined;

  app = await startTestApp({}, { mongoUri: uri });
  expect(await keys()).toEqual(CURRENT);
  expect(await inboundKeys()).toEqual(INBOUND);
});

test('processes dropping at once all succeed; a TTL index on a retired key and other indexes stay', async () => {
  // Four at once, five times over: on FerretDB 2 two drops on one table sometimes lose a
  // PostgreSQL deadlock (a CI run failed on "deadlock detected" with two).
  for (let round = 0; round < 5; round++) {
    const probe = mongoose.connection.db!.collection(`retired_index_probe_${round}`);
    await probe.insertOne({ createdAt: new Date(), campaignId: 'c1' });
    await probe.createIndex({ campaignId: 1, createdAt: 1 });
    await probe.createIndex({ publisherId: 1, createdAt: 1 });
    await probe.createIndex({ createdAt: 1 }, { expireAfterSeconds: 3_600 });
    await probe.createIndex({ campaignId: 1, _id: 1 });
    const dropped = await Promise.all([1, 2, 3, 4].map(() => dropRetiredIndexes(probe, RETIRED_SESSION_INDEXES)));
    // None failed on an index another had dropped first (FerretDB even lets two drop it).
    expect([...new Set(dropped.flat())].sort()).toEqual(['campaignId_1_createdAt_1', 'publisherId_1_createdAt_1']);
    const left = await probe.indexes();
    expect(left.map((i) => JSON.stringify(i.key))).toEqual([{ _id: 1 }, { createdAt: 1 }, { campaignId: 1, _id: 1 }].map((k) => JSON.stringify(k)));
    expect(left.find((i) => i.key.createdAt === 1)?.expireAfterSeconds).toBe(3_600);
    // Nothing left to drop: a second start changes nothing.
    expect(await dropRetiredIndexes(probe, RETIRED_SESSION_INDEXES)).toEqual([]);
  }
});
