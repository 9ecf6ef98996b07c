import mongoose from 'mongoose';
import { MODELS } from '../../src/persistence/database';
import { retryingDeadlocks } from '../../src/persistence/index-ddl';
import { sharedStack, testDbName } from '../support/harness';

// Processes starting at once on a fresh database each create every index, as connectDatabase does.
// Without the retry, FerretDB 2 failed one side with "deadlock detected" in most runs of this test.

test('four processes creating every index at once on fresh collections all succeed', async () => {
  const uri = `${sharedStack().mongoPrefix}${testDbName()}`;
  for (let round = 0; round < 3; round++) {
    const processes = await Promise.all([1, 2, 3, 4].map(() => mongoose.createConnection(uri).asPromise()));
    try {
      const models = (c: mongoose.Connection) => MODELS.map((m) => c.model(m.modelName, m.schema, `ddl_${round}_${m.collection.collectionName}`));
      const outcomes = await Promise.allSettled(processes.map(async (c) => {
        for (const model of models(c)) await retryingDeadlocks(() => model.createIndexes());
      }));
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      for (const model of models(processes[0]!)) {
        const made = (await model.collection.indexes()).map((i) => JSON.stringify(i.key)).sort();
        const declared = ['{"_id":1}', ...model.schema.indexes().map(([key]) => JSON.stringify(key))].sort();
        expect(made).toEqual(declared);
      }
    } finally {
      await Promise.all(processes.map((c) => c.close()));
    }
  }
});
