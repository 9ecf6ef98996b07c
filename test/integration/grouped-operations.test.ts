import { MongoClient, type Collection } from 'mongodb';
import { groupedFindById, groupedFindOne, groupedInsert, setGroupsInFlight } from '../../src/persistence/grouped-operations';
import { sharedStack, testDbName } from '../support/harness';

// The hot paths' grouped insert and lookup on the real database: requests that arrive while one is
// in flight share the next round trip, and each caller hears its own document's outcome.

type Doc = { _id: string; n: number; secret?: string };

let client: MongoClient;
let docs: Collection<Doc>;
const calls: string[] = [];
// The collection as the grouped operations see it, counting the commands they send.
const counted = () =>
  new Proxy(docs, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });

beforeAll(async () => {
  client = await new MongoClient(`${sharedStack().mongoPrefix}${testDbName()}`).connect();
  docs = client.db().collection<Doc>('grouped');
});
afterAll(async () => {
  setGroupsInFlight(4);
  await client.close();
});
beforeEach(() => {
  calls.length = 0;
  // One in flight makes the groups predictable: the first call alone, then all the others.
  setGroupsInFlight(1);
});

test('concurrent inserts go in two round trips; a refused document fails only its own caller', async () => {
  await docs.insertOne({ _id: 'taken', n: -1 });
  const insert = groupedInsert<Doc>('test insert', counted);
  const ids = Array.from({ length: 50 }, (_, i) => `d${i}`);
  ids.splice(20, 0, 'taken');
  const outcomes = await Promise.allSettled(ids.map((_id, n) => insert({ _id, n })));
  expect(calls).toEqual(['insertMany', 'insertMany']);
  const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [[ids[i], String(o.reason)]] : []));
  expect(failed).toEqual([['taken', expect.stringMatching(/^Error: test insert: .*duplicate key/i)]]);
  expect(await docs.countDocuments({ _id: { $regex: /^d/ } })).toBe(50);
  expect((await docs.findOne({ _id: 'taken' }))?.n).toBe(-1);
});

test('concurrent lookups by id go in two round trips, with the projection, null when not found', async () => {
  await docs.insertMany([{ _id: 'a', n: 1, secret: 's' }, { _id: 'b', n: 2, secret: 's' }, { _id: 'c', n: 3, secret: 's' }]);
  const byId = groupedFindById<Doc, { _id: string; n: number }>('test lookup', counted, { n: 1 });
  const found = await Promise.all(['a', 'b', 'missing', 'b', 'c'].map((id) => byId(id)));
  expect(calls).toEqual(['find', 'find']);
  expect(found).toEqual([{ _id: 'a', n: 1 }, { _id: 'b', n: 2 }, null, { _id: 'b', n: 2 }, { _id: 'c', n: 3 }]);
});

test('a database that refuses the whole group fails each caller with its error', async () => {
  const insert = groupedInsert<Doc>('test insert', () => client.db().collection<Doc>('$bad name'));
  const outcomes = await Promise.allSettled([insert({ _id: 'x', n: 1 }), insert({ _id: 'y', n: 2 })]);
  expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
});

test('concurrent lookups by equal fields go in two round trips by $or, each with its own match', async () => {
  const pairs = client.db().collection<{ _id: string; adv: string; txid: string; status: string }>('grouped_pairs');
  await pairs.insertMany([
    { _id: 'k1', adv: 'a1', txid: 't1', status: 'approved' },
    { _id: 'k2', adv: 'a1', txid: 't2', status: 'pending' },
    { _id: 'k3', adv: 'a2', txid: 't1', status: 'rejected' },
  ]);
  const wanted = [{ adv: 'a1', txid: 't1' }, { adv: 'a2', txid: 't1' }, { adv: 'a1', txid: 't9' }, { adv: 'a1', txid: 't2' }, { adv: 'a2', txid: 't1' }];
  let finds = 0;
  const byPair = groupedFindOne<{ _id: string; adv: string; txid: string; status: string }, { _id: string; status: string }>(
    'test lookup',
    () => {
      finds++;
      return pairs;
    },
    ['adv', 'txid'],
    { _id: 1, status: 1 },
  );
  const found = await Promise.all(wanted.map((f) => byPair(f)));
  expect(finds).toBe(2);
  expect(found.map((d) => d && [d._id, d.status])).toEqual([['k1', 'approved'], ['k3', 'rejected'], null, ['k2', 'pending'], ['k3', 'rejected']]);
});

test('with 4 in flight (the default), 4 go alone and the other 47 in one insertMany', async () => {
  setGroupsInFlight(4);
  const insert = groupedInsert<Doc>('test insert', counted);
  await Promise.all(Array.from({ length: 51 }, (_, n) => insert({ _id: `f${n}`, n })));
  expect(calls).toEqual(Array(5).fill('insertMany'));
  expect(await docs.countDocuments({ _id: { $regex: /^f/ } })).toBe(51);
});
