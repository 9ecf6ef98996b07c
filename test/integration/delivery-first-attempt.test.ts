import type { Fixture } from '../support/fixtures';
import { eventually, stopAll, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startWithFixture } from '../support/app-with-sink';
import { click, postback, settledDeliveries } from '../support/tracking-client';

// The session's notifying step sends each postback's first attempt itself, unless the endpoint has
// just failed: then, for the first retry interval, new postbacks to it go to delivery workflows
// whole, so a dead endpoint cannot hold the worker's workflow tasks (src/outbound/first-attempt-gate.ts).
// The interval is long here (15 s) so that the second conversion, handed over seconds later, lands inside it.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
beforeAll(async () => ({ app, sink, f } = await startWithFixture({ DELIVERY_RETRY_INITIAL_MS: '15000', DELIVERY_RETRY_MAX_MS: '30000' })));
afterAll(() => stopAll(app, sink));

const sessionsPostback = async () => {
  const { sessionId } = await click(app.httpUrl!, f);
  expect((await postback(app.httpUrl!, { click_id: sessionId, event: 'registration', token: f.token })).status).toBe(202);
  return sessionId;
};

const publisherDelivery = (sessionId: string) =>
  eventually(async () => (await settledDeliveries(sessionId, 4)).find((d) => d.target === 'publisher'), 30_000, 'the publisher delivery');

test('after an endpoint failed, its next postback is sent whole by a delivery workflow at once; other endpoints stay in the step', async () => {
  sink.failFirst.set(`/publisher/${f.publisherId}`, 1);
  const first = await sessionsPostback();
  // Attempt 1 failed in the step; the workflow it started makes attempt 2 after the 15 s interval.
  const failed = await eventually(async () => {
    const ds = await settledDeliveries(first, 3);
    return ds.some((d) => d.target === 'publisher') ? null : ds;
  }, 30_000, 'the providers delivered and the publisher not yet');
  expect(failed.every((d) => d.attempt === 1)).toBe(true);

  const second = await sessionsPostback();
  const now = await publisherDelivery(second);
  // Sent by its workflow (started at once, not delayed): attempt 1, delivered.
  expect(now).toMatchObject({ attempt: 1, outcome: 'delivered' });
  expect(await app.temporal.deliveryState(now.deliveryId)).not.toBe('none');
  // The providers' endpoints never failed: their postbacks were sent by the step, no workflow.
  for (const d of (await settledDeliveries(second, 4)).filter((x) => x.target === 'provider')) {
    expect(d).toMatchObject({ attempt: 1, outcome: 'delivered' });
    expect(await app.temporal.deliveryState(d.deliveryId)).toBe('none');
  }

  const retried = await publisherDelivery(first);
  expect(retried).toMatchObject({ attempt: 2, outcome: 'delivered' });
  // Each conversion reached the publisher once delivered: one failed request and two that went through.
  const received = sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === first || r.query.cid === second);
  expect(received.map((r) => r.query.cid).sort()).toEqual([first, first, second].sort());
}, 90_000);
