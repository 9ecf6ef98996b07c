import type { Fixture } from '../support/fixtures';
import { eventually, stopAll, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startWithFixture } from '../support/app-with-sink';
import { click, conversionsOf, postback, settledDeliveries } from '../support/tracking-client';

// A busy session continues as new to keep its history bounded. What it has counted must survive
// the hand-over: every conversion recorded once, and a transaction id seen before still known.

const PER_RUN = 3;
const CONVERSIONS = 7;
const NOTIFICATIONS_PER_CONVERSION = 4;

let app: TestApp;
let sink: HttpSink;
let f: Fixture;

beforeAll(async () => ({ app, sink, f } = await startWithFixture({ SESSION_MAX_CONVERSIONS_PER_RUN: String(PER_RUN) })));
afterAll(() => stopAll(app, sink));

test('a session continues as new after the configured number of conversions and keeps its state', async () => {
  expect(app.config.SESSION_MAX_CONVERSIONS_PER_RUN).toBe(PER_RUN);
  const { sessionId } = await click(app.httpUrl!, f);
  const handle = app.temporal.client.workflow.getHandle(sessionId);
  const firstRunId = (await eventually(() => handle.describe().catch(() => null), 20_000, 'the session workflow')).runId;

  const txids = Array.from({ length: CONVERSIONS }, (_, i) => `tx-can-${i + 1}`);
  const firstTxid = txids[0]!;
  for (const [i, txid] of txids.entries()) {
    const res = await postback(app.httpUrl!, { cid: sessionId, goal: 'sale', order_id: txid, sum: `${10 + i}.00`, currency: 'EUR', token: f.token });
    expect(res).toMatchObject({ status: 202, body: { session_id: sessionId } });
  }

  const view = await eventually(async () => {
    const v = await app.temporal.querySession(sessionId);
    return v && v.conversions.length === CONVERSIONS && v.queued === 0 ? v : null;
  }, 30_000, `${CONVERSIONS} conversions counted by the workflow`);
  // 7 conversions at 3 per run: two hand-overs, the third run is the live one.
  expect(view.run).toBe(Math.floor(CONVERSIONS / PER_RUN));
  expect(view.conversions.map((c) => c.txid)).toEqual(txids);
  const description = await handle.describe();
  expect(description.runId).not.toBe(firstRunId);
  expect(description.status.name).toBe('RUNNING');

  const recorded = await conversionsOf(sessionId);
  expect(recorded.map((c) => c.txid).sort()).toEqual([...txids].sort());
  // 10 % of 10.00 … 16.00 EUR.
  expect(recorded.map((c) => c.payoutMinor).sort((a, b) => a - b)).toEqual([100, 110, 120, 130, 140, 150, 160]);

  // A transaction counted in the first run is still known to the latest one: with the same status it
  // is a duplicate (answered at once from the stored conversion); with another it updates that one.
  const first = recorded.find((c) => c.txid === firstTxid)!;
  const again = await postback(app.httpUrl!, { click_id: sessionId, event: 'sale', txid: firstTxid, amount: '10.00', currency: 'EUR', token: f.token });
  expect(again).toMatchObject({ status: 200, body: { outcome: 'duplicate', conversion_id: first._id } });
  const update = await postback(app.httpUrl!, { click_id: sessionId, event: 'sale', txid: firstTxid, amount: '10.00', currency: 'EUR', status: 'pending', token: f.token });
  expect(update.status).toBe(202);
  const after = await eventually(async () => {
    const v = await app.temporal.querySession(sessionId);
    return v?.conversions.find((c) => c.txid === firstTxid)?.status === 'pending' ? v : null;
  }, 20_000, 'the status update of the first transaction');
  expect(after.conversions).toHaveLength(CONVERSIONS);

  await settledDeliveries(sessionId, (CONVERSIONS + 1) * NOTIFICATIONS_PER_CONVERSION);
  expect(await conversionsOf(sessionId)).toHaveLength(CONVERSIONS);
  const toPublisher = sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === sessionId);
  expect(toPublisher.map((r) => r.query.txid).sort()).toEqual([...txids, firstTxid].sort());
});
