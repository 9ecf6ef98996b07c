import type { mongo } from 'mongoose';
import { dropRetiredIndexes } from '../../src/persistence/retired-indexes';

// The error handling of the drop, which the local engine cannot show (FerretDB lets two processes
// drop one index without an error; MongoDB answers the second with IndexNotFound, code 27).

function collection(indexes: { name: string; key: Record<string, 1>; expireAfterSeconds?: number }[], fail: Record<string, Error>) {
  const dropped: string[] = [];
  const c = {
    indexes: async () => indexes,
    dropIndex: async (name: string) => {
      if (fail[name]) throw fail[name];
      dropped.push(name);
    },
  };
  return { c: c as unknown as mongo.Collection<mongo.Document>, dropped };
}

const serverError = (code: number, message: string) => Object.assign(new Error(message), { code });

test('an index another process dropped first is no error; the others are still dropped', async () => {
  const { c, dropped } = collection(
    [{ name: '_id_', key: { _id: 1 } }, { name: 'createdAt_1', key: { createdAt: 1 } }, { name: 'campaignId_1_createdAt_1', key: { campaignId: 1, createdAt: 1 } }],
    { createdAt_1: serverError(27, 'index not found with name [createdAt_1]') },
  );
  expect(await dropRetiredIndexes(c, [{ createdAt: 1 }, { campaignId: 1, createdAt: 1 }])).toEqual(['campaignId_1_createdAt_1']);
  expect(dropped).toEqual(['campaignId_1_createdAt_1']);
});

test('any other failure of a drop is thrown', async () => {
  const { c } = collection([{ name: 'createdAt_1', key: { createdAt: 1 } }], { createdAt_1: serverError(13, 'not authorized') });
  await expect(dropRetiredIndexes(c, [{ createdAt: 1 }])).rejects.toThrow('not authorized');
});

test('by key only: a TTL index, or a key in another order, is kept', async () => {
  const { c, dropped } = collection(
    [{ name: 'ttl', key: { createdAt: 1 }, expireAfterSeconds: 60 }, { name: 'other', key: { createdAt: 1, campaignId: 1 } }],
    {},
  );
  expect(await dropRetiredIndexes(c, [{ createdAt: 1 }, { campaignId: 1, createdAt: 1 }])).toEqual([]);
  expect(dropped).toEqual([]);
});
