import type { Collection } from 'mongodb';
import type { DeliveryAttemptRecord } from '../../src/persistence/models/delivery';
import { deliveryWorkflow } from '../../workflows/delivery';
import { clientFor, type ApiClient } from '../support/api-client';
import { startBehindRelay, type RelayedApp } from '../support/database-relay';
import { DELIVERY_TIMEOUT_MS, QUICK_DELIVERIES, sentFor, startDelivery } from '../support/delivery-run';
import { eventually, testId, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import type { TcpProxy } from '../support/tcp-proxy';

// Deliveries are sent once (issue #10 item 2, design review #3, #7): a database that is slow
// rather than down cannot make a delivered postback go out again, a last attempt that cannot log
// itself still ends as given_up on record (delivery-given-up-db-down.test.ts), a 4xx other than 408/429 stops the retries, and two
// re-send requests cannot both send. The app reaches FerretDB through a relay this file freezes
// and cuts; the test reads the database directly.

let relay: RelayedApp;
let app: TestApp;
let sink: HttpSink;
let proxy: TcpProxy;
let attempts: Collection<DeliveryAttemptRecord>;
let operator: ApiClient;

beforeAll(async () => {
  relay = await startBehindRelay(QUICK_DELIVERIES);
  ({ app, sink, proxy } = relay);
  attempts = relay.direct.db().collection<DeliveryAttemptRecord>('deliveries');
  operator = await clientFor(app, 'operator');
});
afterAll(() => relay?.stop());
afterEach(() => {
  proxy.thaw();
  sink.onRequest = null;
});

test('a delivered postback is not sent again while the database is slow', async () => {
  // The database freezes the moment the publisher receives the postback: logging the attempt hangs.
  sink.onRequest = (path) => {
    if (path === '/slow') proxy.freeze();
  };
  const handle = await startDelivery(app, sink, '/slow');
  expect(await handle.result()).toBe('delivered');
  expect(sentFor(sink, handle.workflowId)).toHaveLength(1);
  proxy.thaw();
  // The attempt's own write lands once the database answers again, keyed by delivery and attempt.
  const logged = await eventually(() => attempts.find({ deliveryId: handle.workflowId }).toArray().then((a) => a.length > 0 && a), 30_000, 'the attempt to be logged');
  expect(logged.map((a) => [a.attempt, a.outcome])).toEqual([[1, 'delivered']]);
  expect(sentFor(sink, handle.workflowId)).toHaveLength(1);
}, 150_000);

test('a 4xx answer other than 408/429 stops the retries; 408 and 429 are retried', async () => {
  sink.statuses.set('/gone', [410]);
  const gone = await startDelivery(app, sink, '/gone');
  expect(await gone.result()).toBe('given_up');
  expect(sentFor(sink, gone.workflowId)).toHaveLength(1);
  const [only] = await eventually(() => attempts.find({ deliveryId: gone.workflowId }).toArray().then((a) => a.length > 0 && a), 10_000, 'the attempt');
  expect(only).toMatchObject({ attempt: 1, statusCode: 410, outcome: 'given_up', error: expect.stringMatching(/HTTP 410 \(not retried/) });

  sink.statuses.set('/later', [429, 408]);
  const later = await startDelivery(app, sink, '/later');
  expect(await later.result()).toBe('delivered');
  expect(sentFor(sink, later.workflowId)).toHaveLength(3);
  const logged = await eventually(() => attempts.find({ deliveryId: later.workflowId }).sort({ attempt: 1 }).toArray().then((a) => a.length === 3 && a), 10_000, 'three attempts');
  expect(logged.map((a) => [a.statusCode, a.outcome])).toEqual([[429, 'failed'], [408, 'failed'], [200, 'delivered']]);
});

test('an unusable URL fails at once, not retried', async () => {
  const deliveryId = testId('dlv');
  const handle = await app.temporal.client.workflow.start(deliveryWorkflow, {
    workflowId: deliveryId,
    taskQueue: app.config.TEMPORAL_TASK_QUEUE,
    args: [{ deliveryId, conversionId: 'c', sessionId: 's', target: 'publisher', targetId: 'p', url: 'not a url', policy: { initialIntervalMs: 100, maximumIntervalMs: 200, maximumAttempts: 3, timeoutMs: DELIVERY_TIMEOUT_MS } }],
  });
  expect(await handle.result()).toBe('given_up');
  const logged = await eventually(() => attempts.find({ deliveryId }).toArray().then((a) => a.length > 0 && a), 10_000, 'the attempt');
  expect(logged).toEqual([expect.objectContaining({ attempt: 1, outcome: 'given_up', error: expect.stringMatching(/unusable URL/) })]);
});

test('two concurrent re-sends of one delivery: one is started, the other answers 409', async () => {
  sink.statuses.set('/resend', [404]);
  const original = await startDelivery(app, sink, '/resend');
  expect(await original.result()).toBe('given_up');
  await eventually(() => attempts.findOne({ deliveryId: original.workflowId, outcome: 'given_up' }), 10_000, 'the given_up attempt');
  // The re-send keeps failing for a while, so it is still running when the second request comes.
  sink.statuses.set('/resend', [500, 500, 500]);
  const both = await Promise.all([1, 2].map(() => operator.post(`/deliveries/${original.workflowId}/resend`)));
  expect(both.map((r) => r.status).sort()).toEqual([202, 409]);
  const started = both.find((r) => r.status === 202)!.body as { deliveryId: string };
  expect(started.deliveryId).toBe(`${original.workflowId}-resend-1`);
  expect(both.find((r) => r.status === 409)!.body.error).toMatch(/is (being re-sent|still being retried)/);
  expect(await app.temporal.client.workflow.getHandle(started.deliveryId).result()).toBe('given_up');

  // Once that generation has closed, the next re-send is the next generation.
  const third = await operator.post(`/deliveries/${original.workflowId}/resend`);
  expect(third).toMatchObject({ status: 202, body: { deliveryId: `${original.workflowId}-resend-2` } });
  expect(await app.temporal.client.workflow.getHandle(`${original.workflowId}-resend-2`).result()).toBe('delivered');
});
