import { WorkflowClient } from '@temporalio/client';
import { Delivery } from '../../src/persistence/models/delivery';
import { SessionClient } from '../../src/temporal/session-client';
import { insertWaitingSessions, type Fixture } from '../support/fixtures';
import { eventually, stopAll, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startWithFixture } from '../support/app-with-sink';
import { click, postback, settledDeliveries } from '../support/tracking-client';
import { startedSession, startedCount } from '../support/handed-over';

// Faults the servers cannot be made to produce on demand, injected into the real app (the worker
// runs in this process): a database write failing after a postback was delivered, a delivery
// workflow Temporal refuses to start, and one session that Temporal refuses while the others go through.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
beforeAll(async () => ({ app, sink, f } = await startWithFixture()));
afterAll(async () => {
  jest.restoreAllMocks();
  await stopAll(app, sink);
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
    // Delivered at the first attempt, by the session's own step: no delivery workflow was needed.
    expect(await app.temporal.deliveryState(attempt.deliveryId)).toBe('none');
    expect(sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === sessionId)).toHaveLength(1);
  } finally {
    spy.mockRestore();
  }
});

test("a session's notifying step run again (Temporal refused a retry workflow) sends no delivery twice that it already delivered", async () => {
  const { sessionId } = await click(app.httpUrl!, f);
  // The business provider's first attempt fails, and the start of its retry workflow is refused
  // once: the whole step fails after the publisher's postback was delivered, and runs again.
  const provider = `/provider/${f.businessProviderId}`;
  const before = sink.received(provider).filter((r) => r.query.cid === sessionId).length;
  sink.failFirst.set(provider, 1);
  const start = WorkflowClient.prototype.start;
  let refused = 0;
  const spy = jest.spyOn(WorkflowClient.prototype, 'start').mockImplementation(function (this: WorkflowClient, type, options) {
    if (type === 'deliveryWorkflow' && refused === 0) {
      refused++;
      return Promise.reject(new Error('unavailable: refused by the test'));
    }
    return start.call(this, type, options as never) as never;
  });
  try {
    expect((await postback(app.httpUrl!, { click_id: sessionId, event: 'registration', token: f.token })).status).toBe(202);
    const settled = await settledDeliveries(sessionId, 4);
    expect(refused).toBe(1);
    // The provider's failed first attempt had no record, so it was made again (and delivered then).
    const byTarget = Object.fromEntries(settled.map((d) => [d.targetId, [d.attempt, d.outcome]]));
    expect(byTarget[f.businessProviderId]).toEqual([1, 'delivered']);
    expect(sink.received(provider).filter((r) => r.query.cid === sessionId)).toHaveLength(before + 2);
    // Everything delivered at the first run of the step was not sent again.
    expect(sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === sessionId)).toHaveLength(1);
    for (const id of [f.campaignProviderId, f.publisherProviderId]) {
      expect(sink.received(`/provider/${id}`).filter((r) => r.query.cid === sessionId)).toHaveLength(1);
    }
  } finally {
    spy.mockRestore();
    sink.failFirst.clear();
  }
});

test('the hand-over starts every waiting session even when Temporal refuses one of them, and retries that one', async () => {
  await app.stopWorker();
  const ids = await insertWaitingSessions(f, 5);
  const refused = ids[2]!;
  const start = SessionClient.prototype.startSession;
  const calls: string[] = [];
  let refusing = true;
  const spy = jest.spyOn(SessionClient.prototype, 'startSession').mockImplementation(function (this: SessionClient, s, o) {
    calls.push(s.sessionId);
    return s.sessionId === refused && refusing ? Promise.reject(new Error('invalid argument: refused by the test')) : start.call(this, s, o);
  });
  try {
    await app.startWorker();
    await eventually(async () => (await startedCount(ids)) === 4, 20_000, 'the other four');
    // Refused again while it is refused: held back and retried, never marked started.
    await eventually(() => calls.filter((id) => id === refused).length >= 2, 20_000, 'a retry of the refused session');
    expect(await startedSession(refused)).toBeNull();
    refusing = false;
    await eventually(() => startedSession(refused), 20_000, 'the refused session, once Temporal takes it');
  } finally {
    spy.mockRestore();
  }
  for (const id of ids) {
    expect((await app.temporal.client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
    if (id !== refused) expect(calls.filter((c) => c === id)).toHaveLength(1);
  }
});
