import { inbounds } from '../../src/persistence/models/inbound';
import type { Fixture } from '../support/fixtures';
import { eventually, stopAll, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startWithFixture } from '../support/app-with-sink';
import { click, conversionsOf, postback, settledDeliveries } from '../support/tracking-client';
import { startedSession } from '../support/handed-over';

// While no worker runs, Temporal holds accepted conversions as signals in the session's history.
// A worker that comes back must record each of them exactly once and notify the publisher once.

// Publisher postback + campaign, publisher and business provider notifications.
const NOTIFICATIONS_PER_CONVERSION = 4;

let app: TestApp;
let sink: HttpSink;
let f: Fixture;

beforeAll(async () => ({ app, sink, f } = await startWithFixture()));
afterAll(() => stopAll(app, sink));

/** A click whose workflow is running (it has persisted its session), so only the worker is missing later. */
async function runningSession(): Promise<string> {
  const { sessionId } = await click(app.httpUrl!, f, '&sub1=restart');
  await eventually(() => startedSession(sessionId), 20_000, 'the session workflow to start');
  return sessionId;
}

/** Lets the Temporal server hand pending tasks to a worker, if one (wrongly) still polled. */
async function idle(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

test('a conversion accepted while the worker is down is recorded once the worker is back, exactly once', async () => {
  const sessionId = await runningSession();
  await app.stopWorker();
  try {
    const accepted = await postback(app.httpUrl!, { click_id: sessionId, event: 'registration', txid: 'tx-restart-1', token: f.token });
    expect(accepted).toMatchObject({ status: 202, body: { status: 'accepted', session_id: sessionId } });
    // Stored for the hand-over, which runs in the worker process: it waits in MongoDB meanwhile.
    const waiting = await inbounds().findOne({ _id: accepted.body.request_id as string });
    expect(waiting).toMatchObject({ outcome: 'accepted' });
    expect(waiting?.decision).toBeUndefined();

    await idle(1_000);
    expect(await conversionsOf(sessionId)).toHaveLength(0);
    expect(sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === sessionId)).toHaveLength(0);
  } finally {
    await app.startWorker();
  }

  const [conversion] = await eventually(async () => {
    const found = await conversionsOf(sessionId);
    return found.length > 0 ? found : null;
  }, 30_000, 'the conversion to be recorded');
  expect(conversion).toMatchObject({ event: 'registration', txid: 'tx-restart-1', payoutMinor: 250, currency: 'EUR', status: 'approved' });

  await settledDeliveries(sessionId, NOTIFICATIONS_PER_CONVERSION);
  expect(await conversionsOf(sessionId)).toHaveLength(1);
  const toPublisher = sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === sessionId);
  expect(toPublisher).toHaveLength(1);
  expect(toPublisher[0]!.query).toMatchObject({ event: 'registration', txid: 'tx-restart-1', payout: '2.50', conv: conversion!._id });

  const view = await app.temporal.querySession(sessionId);
  expect(view?.conversions).toHaveLength(1);
  expect(view?.status).toBe('converted');
});

test('the same postback sent twice while the worker is down still makes one conversion', async () => {
  const sessionId = await runningSession();
  const params = { click_id: sessionId, event: 'sale', txid: 'tx-restart-twice', amount: '80.00', currency: 'EUR', token: f.token };
  await app.stopWorker();
  let requestIds: unknown[];
  try {
    const first = await postback(app.httpUrl!, params);
    const second = await postback(app.httpUrl!, params);
    expect([first.status, second.status]).toEqual([202, 202]);
    // Two distinct requests: the second is a genuine resend, not a redelivered signal.
    requestIds = [first.body.request_id, second.body.request_id];
    expect(requestIds[0]).not.toEqual(requestIds[1]);
    await idle(500);
    expect(await conversionsOf(sessionId)).toHaveLength(0);
  } finally {
    await app.startWorker();
  }

  // Both signals are handled once the worker is back: one counted, one ignored as a repeated txid.
  const view = await eventually(async () => {
    const v = await app.temporal.querySession(sessionId);
    return v && v.conversions.length + v.ignored.length >= 2 && v.queued === 0 ? v : null;
  }, 30_000, 'both signals to be handled');
  expect(view.conversions).toHaveLength(1);
  expect(view.ignored).toEqual([expect.objectContaining({ reason: 'transaction tx-restart-twice already counted' })]);
  expect(requestIds).toContain(view.ignored[0]!.requestId);

  await settledDeliveries(sessionId, NOTIFICATIONS_PER_CONVERSION);
  const recorded = await conversionsOf(sessionId);
  expect(recorded).toHaveLength(1);
  // 10 % of 80.00 EUR.
  expect(recorded[0]).toMatchObject({ event: 'sale', txid: 'tx-restart-twice', amountMinor: 8000, payoutMinor: 800 });
  expect(sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === sessionId)).toHaveLength(1);
});
