import { Delivery } from '../../src/persistence/models/delivery';
import { Session } from '../../src/persistence/models/session';
import { createFixture, insertWaitingSessions, type Fixture } from '../support/fixtures';
import { eventually, startTestApp, type TestApp } from '../support/harness';
import { HttpSink } from '../support/http-sink';
import { click, postback } from '../support/tracking-client';

// Faults the servers cannot be made to produce on demand, injected into the real app (the worker
// runs in this process): a database write failing after a postback was delivered, and one session
// that Temporal refuses while the others go through.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
beforeAll(async () => {
  sink = await new HttpSink().start();
  // Only the sweeps this file runs by hand.
  app = await startTestApp({ RECOVERY_INTERVAL_MS: '600000', RECOVERY_GRACE_MS: '0' });
  f = await createFixture({ sinkUrl: sink.url });
});
afterAll(async () => {
  jest.restoreAllMocks();
  await app?.stop();
  await sink?.stop();
});

test('a delivered postback is not sent again when logging its attempt fails', async () => {
  const { sessionId } = await click(app.httpUrl!, f);
  const replaceOne = Delivery.collection.replaceOne.bind(Delivery.collection);
  let failed = 0;
  const spy = jest.spyOn(Delivery.collection, 'replaceOne').mockImplementation(((filter: { _id?: string }, ...rest: unknown[]) => {
    if (failed < 2 && String(filter._id).includes('-publisher-')) {
      failed++;
      return Promise.reject(new Error('database is locked (SQLITE_BUSY)'));
    }
    return (replaceOne as (...a: unknown[]) => unknown)(filter, ...rest);
  }) as never);
  try {
    expect((await postback(app.httpUrl!, { click_id: sessionId, event: 'registration', token: f.token })).status).toBe(202);
    const attempt = await eventually(() => Delivery.findOne({ sessionId, target: 'publisher' }).lean(), 20_000, 'the attempt log');
    expect(failed).toBe(2);
    expect(attempt).toMatchObject({ attempt: 1, outcome: 'delivered', statusCode: 200 });
    expect(await app.temporal.client.workflow.getHandle(attempt.deliveryId).result()).toBe('delivered');
    expect(sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === sessionId)).toHaveLength(1);
  } finally {
    spy.mockRestore();
  }
});

test('the recovery sweep starts every waiting session even when Temporal refuses one of them', async () => {
  const ids = await insertWaitingSessions(f, 5);
  const refused = ids[2]!;
  const start = app.temporal.startSession.bind(app.temporal);
  const spy = jest
    .spyOn(app.temporal, 'startSession')
    .mockImplementation((s) => (s.sessionId === refused ? Promise.reject(new Error('deadline exceeded')) : start(s)));
  try {
    const first = await app.recovery!.sweepOnce();
    expect(first.sessions).toBe(4);
    const waiting = await Session.find({ _id: { $in: ids }, workflowStarted: false }).lean();
    expect(waiting.map((s) => s._id)).toEqual([refused]);
  } finally {
    spy.mockRestore();
  }
  expect((await app.recovery!.sweepOnce()).sessions).toBe(1);
  for (const id of ids) {
    expect((await app.temporal.client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
  }
});
