import type { WorkflowHandle } from '@temporalio/client';
import { v7 as uuidv7 } from 'uuid';
import { conversions } from '../../src/persistence/models/conversion';
import { inbounds } from '../../src/persistence/models/inbound';
import { sessions } from '../../src/persistence/models/session';
import { defaultPayloadConverter } from '@temporalio/common';
import type { ConversionRequest } from '../../src/domain/attribution-rules';
import { DEFAULT_EVENTS, createFixture } from '../support/fixtures';
import { eventually, stopAll, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startWithSink } from '../support/app-with-sink';
import { sessionOf, startSessionWorkflow, storeSession } from '../support/stored-session';
import { click, postback, settledDeliveries } from '../support/tracking-client';
import { startedSession } from '../support/handed-over';
import type { HistoryEvent } from '../support/session-life';

// The least Temporal work per session (issue #12): what each session's history must not contain
// any more, each a Temporal Cloud Action or a workflow task. Each assertion fails on the workflow
// as it was before (b5c0bb2): a timer per conversion, an upsert at every close, a child workflow
// per delivery, a database step at every start.

let app: TestApp;
let sink: HttpSink;

beforeAll(async () => ({ app, sink } = await startWithSink()));
afterAll(() => stopAll(app, sink));

const handle = (id: string): WorkflowHandle => app.temporal.client.workflow.getHandle(id);

async function closedHistory(id: string): Promise<HistoryEvent[]> {
  // The hand-over starts a clicked session's workflow after the click has answered.
  await eventually(() => startedSession(id), 30_000, 'the session handed over');
  await handle(id).result();
  return (await handle(id).fetchHistory()).events ?? [];
}

const count = (events: HistoryEvent[], has: (e: HistoryEvent) => unknown) => events.filter(has).length;

const upserts = (events: HistoryEvent[]) => events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes);
/** SessionStatus upserts; the others are the SDK's own, one TemporalChangeVersion per patch a run records. */
const statusUpserts = (events: HistoryEvent[]) =>
  count(upserts(events), (e) => 'SessionStatus' in (e.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes?.indexedFields ?? {}));

/** The activity types of the local activities a history recorded. */
function localActivities(events: HistoryEvent[]): string[] {
  return events
    .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
    .map((e) => JSON.parse(Buffer.from(e.markerRecordedEventAttributes!.details!.data!.payloads![0]!.data!).toString()).activity_type as string);
}

/** Session ids the visibility store answers for this query (the Temporal UI's filter). */
async function found(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of app.temporal.client.workflow.list({ query })) ids.push(w.workflowId);
  return ids;
}

// The filters README "Operations" documents for the Temporal UI.
const UI = {
  open: 'SessionStatus="open" AND ExecutionStatus="Running"',
  converted: 'SessionStatus="converted"',
  expired: 'ExecutionStatus="Completed" AND SessionStatus!="converted"',
};

async function foundBy(sessionId: string): Promise<string[]> {
  const hits: string[] = [];
  for (const [name, query] of Object.entries(UI)) {
    if ((await found(`WorkflowId="${sessionId}" AND ${query}`)).includes(sessionId)) hits.push(name);
  }
  return hits;
}

test('a session with three conversions starts one timer, upserts SessionStatus once, and delivers its postbacks from its own step: no workflow for a delivery that succeeds at once', async () => {
  const f = await createFixture({ sinkUrl: sink.url, windowSec: 15 });
  const { sessionId } = await click(app.httpUrl!, f);
  for (const txid of ['tx-1', 'tx-2', 'tx-3']) {
    const res = await postback(app.httpUrl!, { click_id: sessionId, event: 'sale', txid, amount: '10.00', currency: 'EUR', token: f.token });
    expect(res.status).toBe(202);
  }
  const events = await closedHistory(sessionId);
  expect(await handle(sessionId).result()).toEqual({ status: 'converted', conversions: 3 });

  expect(count(events, (e) => e.workflowExecutionSignaledEventAttributes)).toBe(3);
  expect(count(events, (e) => e.timerStartedEventAttributes)).toBe(1);
  expect(count(events, (e) => e.timerCanceledEventAttributes)).toBe(0);
  // Converted at the first conversion; the close finds it converted already. One patch recorded.
  expect(statusUpserts(events)).toBe(1);
  expect(upserts(events)).toHaveLength(2);
  expect(count(events, (e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toBe(0);
  expect(localActivities(events).filter((t) => t === 'startDeliveryWorkflows')).toHaveLength(3);
  // Two steps per conversion: the hand-over's signal carries the event rules, and the recording
  // step writes the decision ('recorded') itself.
  const perConversion = ['loadEventRules', 'recordConversion', 'recordDecision', 'startDeliveryWorkflows'];
  expect(localActivities(events).filter((t) => perConversion.includes(t))).toEqual(Array(3).fill(['recordConversion', 'startDeliveryWorkflows']).flat());
  const signalled = events.filter((e) => e.workflowExecutionSignaledEventAttributes).map((e) => defaultPayloadConverter.fromPayload<ConversionRequest>(e.workflowExecutionSignaledEventAttributes!.input!.payloads![0]! as never));
  expect(signalled.map((r) => r.eventRules?.map((rule) => rule.name))).toEqual(Array(3).fill(DEFAULT_EVENTS.map((e) => e.name)));
  const requests = await inbounds().find({ sessionId }).toArray();
  expect(requests.map((r) => r.decision?.outcome)).toEqual(['recorded', 'recorded', 'recorded']);

  // Publisher + campaign, publisher and business providers, for each of the three conversions:
  // delivered once each, at the first attempt, by the session's notifying step.
  const settled = await settledDeliveries(sessionId, 12);
  const deliveryIds = [...new Set(settled.map((d) => d.deliveryId))];
  expect(deliveryIds).toHaveLength(12);
  expect(settled.map((d) => [d.attempt, d.outcome])).toEqual(Array(12).fill([1, 'delivered']));
  expect(sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === sessionId).map((r) => r.query.txid).sort()).toEqual(['tx-1', 'tx-2', 'tx-3']);
  for (const id of deliveryIds) expect(await app.temporal.deliveryState(id)).toBe('none');
  await eventually(async () => (await foundBy(sessionId)).join() === 'converted', 20_000, 'the session found as converted only');
}, 120_000);

test('a session without conversion expires with no search-attribute upsert, and the UI filters tell it open, then expired', async () => {
  const f = await createFixture({ sinkUrl: sink.url, windowSec: 4 });
  const { sessionId } = await click(app.httpUrl!, f);
  await eventually(async () => (await foundBy(sessionId)).join() === 'open', 20_000, 'the session found as open only');
  const events = await closedHistory(sessionId);
  expect(await handle(sessionId).result()).toEqual({ status: 'expired', conversions: 0 });
  expect(statusUpserts(events)).toBe(0);
  // The one patch marker's TemporalChangeVersion: a session started now records a single patch.
  expect(upserts(events)).toHaveLength(1);
  expect(count(events, (e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toBe(1);
  expect(count(events, (e) => e.timerStartedEventAttributes)).toBe(1);
  // MongoDB holds the status: reports and the API read it there.
  expect((await sessions().findOne({ _id: sessionId }))?.status).toBe('expired');
  await eventually(async () => (await foundBy(sessionId)).join() === 'expired', 20_000, 'the session found as expired only');
}, 60_000);

test('a converted session whose only conversion is rejected later closes as expired, SessionStatus included', async () => {
  const f = await createFixture({ sinkUrl: sink.url, windowSec: 10 });
  const { sessionId } = await click(app.httpUrl!, f);
  const sale = { click_id: sessionId, event: 'sale', txid: 'tx-r', amount: '10.00', currency: 'EUR', token: f.token };
  expect((await postback(app.httpUrl!, { ...sale, status: 'approved' })).status).toBe(202);
  await eventually(async () => (await sessions().findOne({ _id: sessionId }))?.status === 'converted', 20_000, 'converted');
  expect((await postback(app.httpUrl!, { ...sale, status: 'rejected' })).status).toBe(202);
  const events = await closedHistory(sessionId);
  expect(await handle(sessionId).result()).toEqual({ status: 'expired', conversions: 1 });
  // converted, then expired: the attribute must not keep saying converted.
  expect(statusUpserts(events)).toBe(2);
  await eventually(async () => (await foundBy(sessionId)).join() === 'expired', 20_000, 'the session found as expired only');
}, 90_000);

describe('the session record', () => {
  test('stored already (sessionStored: true): the workflow makes no database write at its start, and still attributes', async () => {
    const f = await createFixture({ sinkUrl: sink.url });
    const session = sessionOf(f, 4_000);
    await storeSession(session, { ip: 'stored by the click' });
    await startSessionWorkflow(app, session, true);
    expect((await postback(app.httpUrl!, { click_id: session.sessionId, event: 'registration', token: f.token })).status).toBe(202);
    const events = await closedHistory(session.sessionId);
    expect(localActivities(events)).not.toContain('persistSession');
    expect(localActivities(events)).toEqual(expect.arrayContaining(['recordConversion', 'startDeliveryWorkflows', 'closeSession']));
    const stored = await sessions().findOne({ _id: session.sessionId });
    expect(stored).toMatchObject({ ip: 'stored by the click', status: 'converted' });
    await settledDeliveries(session.sessionId, 1);
  }, 60_000);

  test('not stored (sessionStored absent or false): the workflow stores it first', async () => {
    const f = await createFixture({ sinkUrl: sink.url });
    for (const stored of [undefined, false]) {
      const session = sessionOf(f, 2_000);
      await startSessionWorkflow(app, session, stored);
      const events = await closedHistory(session.sessionId);
      expect(localActivities(events)[0]).toBe('persistSession');
      expect(await sessions().findOne({ _id: session.sessionId })).toMatchObject({ workflowStarted: true, status: 'expired' });
    }
  }, 60_000);
});

describe('the event rules', () => {
  const request = (txid: string, eventRules?: ConversionRequest['eventRules']): ConversionRequest => ({
    requestId: uuidv7(), source: 'postback', event: 'registration', txid, amountMinor: null, amountCurrency: null,
    status: 'approved', receivedAtMs: Date.now(), ...(eventRules !== undefined ? { eventRules } : {}),
  });

  test('carried by the signal: the session decides with them and loads none; without them it loads the campaign\'s in a step', async () => {
    const f = await createFixture({ sinkUrl: sink.url });
    // The campaign pays 250 for a registration; the rules sent with the signal say 999.
    const carried = [{ name: 'registration', payout: { kind: 'fixed' as const, value: 999 }, revenue: { kind: 'fixed' as const, value: 0 }, currency: 'EUR', repeatable: false }];
    const results: Record<string, { steps: string[]; payouts: number[] }> = {};
    for (const [name, rules] of [['carried', carried], ['loaded', undefined]] as const) {
      const session = sessionOf(f, 3_000);
      await storeSession(session);
      await startSessionWorkflow(app, session, true);
      await app.temporal.signalConversion(session, request(name, rules));
      const steps = localActivities(await closedHistory(session.sessionId));
      const payouts = (await conversions().find({ sessionId: session.sessionId }).toArray()).map((c) => c.payoutMinor);
      results[name] = { steps: steps.filter((t) => t === 'loadEventRules'), payouts };
    }
    expect(results).toEqual({ carried: { steps: [], payouts: [999] }, loaded: { steps: ['loadEventRules'], payouts: [250] } });
  }, 60_000);

  test('carried as null (the campaign is gone): the conversion is ignored, as when the step finds no campaign', async () => {
    const f = await createFixture({ sinkUrl: sink.url });
    const session = sessionOf(f, 3_000);
    await storeSession(session);
    await startSessionWorkflow(app, session, true);
    await app.temporal.signalConversion(session, request('gone', null));
    const events = await closedHistory(session.sessionId);
    expect(localActivities(events)).not.toContain('loadEventRules');
    expect(await handle(session.sessionId).result()).toEqual({ status: 'expired', conversions: 0 });
    expect(await conversions().countDocuments({ sessionId: session.sessionId })).toBe(0);
  }, 60_000);
});
