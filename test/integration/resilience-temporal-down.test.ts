import { inbounds } from '../../src/persistence/models/inbound';
import { sessions } from '../../src/persistence/models/session';
import type { Fixture } from '../support/fixtures';
import { startWithFixture } from '../support/app-with-sink';
import { eventually, stopAll, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startOwnStack, type OwnStack } from '../support/own-stack';
import { click, conversionsOf, postback, settledDeliveries } from '../support/tracking-client';
import { startedSession, startedCount } from '../support/handed-over';

// Temporal going away must not cost a click or an accepted conversion: clicks keep redirecting and
// postbacks keep answering 202 (those paths never call Temporal), sessions and conversions wait in
// MongoDB, and when Temporal is back the hand-over gives it everything, each conversion counted once.
// This file runs its own Temporal (persisted to a file, so a restart keeps its workflows) and
// FerretDB, because stopping the shared Temporal would break the other test files.

const CLICKS_WHILE_DOWN = 30;
const NOTIFICATIONS_PER_CONVERSION = 4;

let stack: OwnStack;
let app: TestApp;
let sink: HttpSink;
let f: Fixture;

beforeAll(async () => {
  stack = await startOwnStack();
  ({ app, sink, f } = await startWithFixture({}, stack.appServers));
}, 120_000);

afterAll(() => stopAll(app, stack, sink), 60_000);

test('clicks and a postback taken while Temporal is down are handed over, once, when it is back', async () => {
  // A session from before the outage: its workflow must still be there after the restart.
  const before = await click(app.httpUrl!, f, '&sub1=before');
  await eventually(() => startedSession(before.sessionId), 20_000, 'the first session workflow');

  await stack.stopTemporal();
  const clicked: string[] = [];
  let waitingRequestId: unknown;
  try {
    for (let i = 0; i < CLICKS_WHILE_DOWN; i++) {
      const { res, sessionId } = await click(app.httpUrl!, f, `&sub1=down-${i}`);
      const landing = new URL(res.headers.get('location')!);
      expect(`${landing.origin}${landing.pathname}`).toBe('https://shop.example/landing');
      expect(landing.searchParams.get('s1')).toBe(`down-${i}`);
      clicked.push(sessionId);
    }
    expect(new Set(clicked).size).toBe(CLICKS_WHILE_DOWN);
    const waiting = await sessions()
      .find({ _id: { $in: clicked } })
      .toArray();
    expect(waiting).toHaveLength(CLICKS_WHILE_DOWN);
    expect(waiting.every((s) => s.status === 'open')).toBe(true);
    expect(await startedCount(clicked)).toBe(0);

    const converted = clicked[7]!;
    const res = await postback(app.httpUrl!, { click_id: converted, event: 'registration', txid: 'tx-while-down', token: f.token });
    expect(res).toMatchObject({ status: 202, body: { outcome: 'accepted', status: 'accepted', session_id: converted } });
    waitingRequestId = res.body.request_id;
    const inbound = await inbounds().findOne({ _id: waitingRequestId as string });
    expect(inbound).toMatchObject({ outcome: 'accepted', sessionId: converted });
    expect(inbound?.decision).toBeUndefined();
    expect(await conversionsOf(converted)).toHaveLength(0);
  } finally {
    await stack.startTemporal();
  }

  // The hand-over starts every waiting workflow…
  await eventually(
    async () => (await startedCount(clicked)) === CLICKS_WHILE_DOWN,
    60_000,
    'every session to be handed to Temporal',
  );
  for (const id of clicked) {
    const description = await app.temporal.client.workflow.getHandle(id).describe();
    expect(description.status.name).toBe('RUNNING');
  }
  // …and the one from before the outage survived the restart of the server.
  const survivor = await app.temporal.querySession(before.sessionId);
  expect(survivor).toMatchObject({ sessionId: before.sessionId, status: 'open' });

  // The waiting conversion is signalled, recorded once and delivered once.
  const converted = clicked[7]!;
  await eventually(() => inbounds().findOne({ _id: waitingRequestId as string, 'decision.outcome': 'recorded' }), 30_000, 'the waiting conversion to be signalled and recorded');
  await settledDeliveries(converted, NOTIFICATIONS_PER_CONVERSION, 60_000);
  const recorded = await conversionsOf(converted);
  expect(recorded).toHaveLength(1);
  expect(recorded[0]).toMatchObject({ event: 'registration', txid: 'tx-while-down', payoutMinor: 250 });
  const toPublisher = sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === converted);
  expect(toPublisher).toHaveLength(1);
  expect(toPublisher[0]!.query).toMatchObject({ txid: 'tx-while-down', conv: recorded[0]!._id });
  const view = await app.temporal.querySession(converted);
  expect(view).toMatchObject({ status: 'converted', conversions: [expect.objectContaining({ txid: 'tx-while-down' })] });

  // The worker talks to the restarted server by itself again: a conversion now is handed over at once.
  const other = clicked[3]!;
  const direct = await postback(app.httpUrl!, { click_id: other, event: 'registration', txid: 'tx-after-restart', token: f.token });
  expect(direct).toMatchObject({ status: 202, body: { session_id: other } });
  await eventually(async () => (await conversionsOf(other)).length === 1, 30_000, 'the conversion sent after the restart');
}, 180_000);
