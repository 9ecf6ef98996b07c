import { createLogger } from '../../src/log';
import { Session } from '../../src/persistence/models/session';
import { RecoverySweep } from '../../src/temporal/recovery';
import { createFixture, insertWaitingSessions, type Fixture } from '../support/fixtures';
import { eventually, startTestApp, type TestApp } from '../support/harness';
import { HttpSink } from '../support/http-sink';

// After a burst of clicks, the sessions the click path could not start wait for the recovery
// sweep. A full batch means more is waiting: the sweep must take the next one at once, not an
// interval later (here the interval is ten minutes, so only back-to-back passes can finish).

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
beforeAll(async () => {
  sink = await new HttpSink().start();
  app = await startTestApp({ RECOVERY_INTERVAL_MS: '600000', RECOVERY_GRACE_MS: '0' });
  await app.recovery!.stop(); // this file runs its own sweep
  f = await createFixture({ sinkUrl: sink.url });
});
afterAll(async () => {
  await app?.stop();
  await sink?.stop();
});

test('the sweep hands a backlog over in back-to-back batches, its first pass as soon as it starts', async () => {
  const ids = await insertWaitingSessions(f, 5);
  const sweep = new RecoverySweep(app.temporal, createLogger('silent'), { intervalMs: 600_000, graceMs: 0, batch: 2, concurrency: 2 });
  const passes = jest.spyOn(sweep, 'sweepOnce');
  sweep.start();
  try {
    await eventually(
      async () => (await Session.countDocuments({ _id: { $in: ids }, workflowStarted: true })) === ids.length,
      30_000,
      'every waiting session handed over',
    );
  } finally {
    await sweep.stop();
  }
  // 2 + 2 + 1: the last batch was not full, so the sweep went back to its interval.
  expect(passes).toHaveBeenCalledTimes(3);
  for (const id of ids) {
    expect((await app.temporal.client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
  }
});
