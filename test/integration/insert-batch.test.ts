import { MongoClient, type Collection } from 'mongodb';
import { InsertBatch } from '../../src/persistence/insert-batch';
import { sharedStack, testDbName } from '../support/harness';

// src/persistence/insert-batch.ts against the real database: inserts asked for together go as one
// command, and each caller learns of its own document only.

interface Doc {
  _id: string;
  n: number;
}

let client: MongoClient;
let docs: Collection<Doc>;
/** The documents of each insert command sent, in order. */
const sent: number[] = [];

beforeAll(async () => {
  client = await new MongoClient(`${sharedStack().mongoPrefix}${testDbName()}`, { monitorCommands: true }).connect();
  client.on('commandStarted', (e) => {
    if (e.commandName === 'insert') sent.push((e.command.documents as unknown[]).length);
  });
  docs = client.db().collection<Doc>('insert_batch');
});
afterAll(() => client?.close());
beforeEach(async () => {
  await docs.deleteMany({});
  sent.length = 0;
});

const settle = (p: Promise<void>) => p.then(() => 'stored', (err: { code?: number }) => `failed ${err.code ?? String(err)}`);

test('inserts asked for in the same turn are one command, and every document is stored', async () => {
  const batch = new InsertBatch(() => docs);
  await Promise.all(Array.from({ length: 20 }, (_, i) => batch.insert({ _id: `d${i}`, n: i })));
  expect(sent).toEqual([20]);
  expect(await docs.countDocuments()).toBe(20);
});

test('a lone insert is sent alone, and later turns make their own commands', async () => {
  const batch = new InsertBatch(() => docs);
  await batch.insert({ _id: 'a', n: 1 });
  await Promise.all([batch.insert({ _id: 'b', n: 2 }), batch.insert({ _id: 'c', n: 3 })]);
  expect(sent).toEqual([1, 2]);
  expect(await docs.find().sort({ _id: 1 }).map((d) => d._id).toArray()).toEqual(['a', 'b', 'c']);
});

test('a document refused in a batch fails its own caller only; the others are stored', async () => {
  await docs.insertOne({ _id: 'taken', n: 0 });
  sent.length = 0;
  const batch = new InsertBatch(() => docs);
  const outcomes = await Promise.all([
    settle(batch.insert({ _id: 'x1', n: 1 })),
    settle(batch.insert({ _id: 'taken', n: 2 })),
    settle(batch.insert({ _id: 'x3', n: 3 })),
    settle(batch.insert({ _id: 'x1', n: 4 })),
  ]);
  expect(sent).toEqual([4]);
  expect(outcomes).toEqual(['stored', 'failed 11000', 'stored', 'failed 11000']);
  expect(await docs.find().sort({ _id: 1 }).toArray()).toEqual([
    { _id: 'taken', n: 0 },
    { _id: 'x1', n: 1 },
    { _id: 'x3', n: 3 },
  ]);
});

test('a refused lone insert fails its caller with the database error', async () => {
  await docs.insertOne({ _id: 'taken', n: 0 });
  const batch = new InsertBatch(() => docs);
  expect(await settle(batch.insert({ _id: 'taken', n: 1 }))).toBe('failed 11000');
});

test('a burst larger than one batch is split into commands of at most 256 documents', async () => {
  const batch = new InsertBatch(() => docs);
  await Promise.all(Array.from({ length: 300 }, (_, i) => batch.insert({ _id: `b${i}`, n: i })));
  expect(sent).toEqual([256, 44]);
  expect(await docs.countDocuments()).toBe(300);
});

test('when the command itself fails, every caller of the batch is told', async () => {
  const other = await new MongoClient(`${sharedStack().mongoPrefix}${testDbName()}`).connect();
  const batch = new InsertBatch(() => other.db().collection<Doc>('insert_batch'));
  await other.close();
  const outcomes = await Promise.all([settle(batch.insert({ _id: 'y1', n: 1 })), settle(batch.insert({ _id: 'y2', n: 2 }))]);
  expect(outcomes.every((o) => o.startsWith('failed'))).toBe(true);
  expect(await docs.countDocuments({ _id: { $in: ['y1', 'y2'] } })).toBe(0);
});
