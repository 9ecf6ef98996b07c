import type { Collection, MongoClient } from 'mongodb';
import mongoose from 'mongoose';
import type { DeliveryAttemptRecord } from '../../src/persistence/models/delivery';
import { startBehindRelay, type RelayedApp } from '../support/database-relay';
import { driverState } from '../support/driver-state';
import { QUICK_DELIVERIES, sentFor, startDelivery } from '../support/delivery-run';
import { eventually, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import type { TcpProxy } from '../support/tcp-proxy';

// A last delivery attempt that cannot log itself (the database went down as the publisher
// answered) still ends as given_up on record. In full suite runs this test used to hang after the
// relay came back: the driver's server monitor was left checking on a closed connection forever
// (src/persistence/driver-patch.ts). If it waits again, the failure says on what. Each attempt
// gets its own relay and app, and it is retried once, with the first failure logged.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

let relay: RelayedApp;
let app: TestApp;
let sink: HttpSink;
let proxy: TcpProxy;
let attempts: Collection<DeliveryAttemptRecord>;

beforeEach(async () => {
  relay = await startBehindRelay(QUICK_DELIVERIES);
  ({ app, sink, proxy } = relay);
  attempts = relay.direct.db().collection<DeliveryAttemptRecord>('deliveries');
});
afterEach(() => relay?.stop());

test('the last attempt cannot log itself (database down): given_up is still recorded', async () => {
  sink.onRequest = async (path) => {
    if (path === '/down') void proxy.stop();
  };
  sink.statuses.set('/down', [500]);
  const handle = await startDelivery(app, sink, '/down', 1);
  try {
    // The workflow waits on its own record of the outcome until the database is back.
    await eventually(async () => {
      const d = await handle.describe();
      return d.status.name !== 'RUNNING' || (d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'recordGivenUp');
    }, 30_000, 'the workflow to record given_up');
  } finally {
    // Whatever happened, the next tests need the database.
    await proxy.start();
  }
  // Bounded, and saying what the workflow and the app's database client wait on.
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      const d = await handle.describe().catch(() => null);
      const pending = (d?.raw.pendingActivities ?? []).map((a) => ({ type: a.activityType?.name, state: a.state, attempt: a.attempt, lastFailure: a.lastFailure?.message }));
      // The app runs in this process: is its own connection usable now?
      const t0 = Date.now();
      const ping = await Promise.race([
        mongoose.connection.db!.command({ ping: 1 }).then(() => `ok in ${Date.now() - t0} ms`, (err: unknown) => `failed: ${String(err)}`),
        new Promise((r) => setTimeout(() => r('no answer in 5 s'), 5000)),
      ]);
      const { servers, monitors } = driverState(mongoose.connection.getClient() as unknown as MongoClient);
      reject(
        new Error(
          `the workflow did not end within 60 s of the database coming back: ${d?.status.name ?? 'not described'}, pending ${JSON.stringify(pending)}; app's connection: readyState ${mongoose.connection.readyState}, ping ${String(ping)}, servers ${JSON.stringify(servers)}, relay connections ${proxy.connections}, monitors ${JSON.stringify(monitors)}`,
        ),
      );
    }, 60_000);
  });
  const outcome = await Promise.race([handle.result(), stuck]).finally(() => clearTimeout(timer));
  expect(outcome).toBe('given_up');
  const logged = await eventually(() => attempts.findOne({ deliveryId: handle.workflowId, outcome: 'given_up' }), 30_000, 'a given_up record');
  expect(logged).toMatchObject({ attempt: 1, outcome: 'given_up' });
  expect(sentFor(sink, handle.workflowId)).toHaveLength(1);
}, 150_000);
