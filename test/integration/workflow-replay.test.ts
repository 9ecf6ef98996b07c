import { readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { deliveryWorkflow } from '../../workflows/delivery';
import { createFixture } from '../support/fixtures';
import { sharedStack, stopAll, testId, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startWithSink } from '../support/app-with-sink';
import { SESSION_LIFE_WINDOW_SEC, runSessionLife, runStoredSessionLife } from '../support/session-life';

// Sessions live for weeks, so a worker running new workflow code must replay histories that older
// code recorded. The fixture history was recorded by the session workflow as it was before its
// database steps became local activities (commit 95ae7fb): click, pending sale, approval,
// notifications, end of window. To record one again: check that commit out in a worktree, copy
// test/support/session-life.ts into it, and in a test there write
// `historyToJSON((await runSessionLife(app, fixture)).history)` (from @temporalio/common/lib/proto-utils)
// to test/fixtures/histories/.

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'histories');

let app: TestApp;
let sink: HttpSink;

beforeAll(async () => ({ app, sink } = await startWithSink()));
afterAll(() => stopAll(app, sink));

test('a session history recorded before the local activities replays on the current workflow code', async () => {
  const history = historyFromJSON(JSON.parse(readFileSync(path.join(FIXTURES, 'session-regular-activities.json'), 'utf8')));
  const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);
  expect(scheduled).toEqual(expect.arrayContaining(['persistSession', 'loadEventRules', 'recordConversion', 'updateConversionStatus', 'closeSession']));
  await expect(Worker.runReplayHistory({ workflowBundle: sharedStack().workflowBundle }, history)).resolves.toBeUndefined();
});

test('a session history recorded with local activities, before the window-end rules, replays on the current workflow code', async () => {
  // Recorded at 595b1d5 (runSessionLife): no 'session-window-end' marker, so it replays with the old loop.
  const history = historyFromJSON(JSON.parse(readFileSync(path.join(FIXTURES, 'session-local-activities-595b1d5.json'), 'utf8')));
  const markers = history.events!.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length;
  expect(markers).toBeGreaterThan(0);
  await expect(Worker.runReplayHistory({ workflowBundle: sharedStack().workflowBundle }, history)).resolves.toBeUndefined();
});

test('a session history recorded with the least engine work replays on the current workflow code', async () => {
  // Recorded on the engine branch after fb0710b with runStoredSessionLife (the hand-over's start:
  // sessionStored), written as above: one patch marker, one timer, deliveries by a local activity.
  const history = historyFromJSON(JSON.parse(readFileSync(path.join(FIXTURES, 'session-least-work.json'), 'utf8')));
  const events = history.events!;
  expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toHaveLength(1);
  expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(1);
  expect(events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toEqual([]);
  expect(events.filter((e) => e.workflowExecutionSignaledEventAttributes)).toHaveLength(2);
  // Started without `decisionWithConversion`: the decision has a step of its own after recording.
  const steps = events
    .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
    .map((e) => JSON.parse(Buffer.from(e.markerRecordedEventAttributes!.details!.data!.payloads![0]!.data!).toString()).activity_type as string);
  expect(steps.slice(0, 4)).toEqual(['loadEventRules', 'recordConversion', 'recordDecision', 'startDeliveryWorkflows']);
  await expect(Worker.runReplayHistory({ workflowBundle: sharedStack().workflowBundle }, history)).resolves.toBeUndefined();
});

test('a session the hand-over starts (stored already) replays', async () => {
  const f = await createFixture({ sinkUrl: sink.url, windowSec: SESSION_LIFE_WINDOW_SEC });
  const { history } = await runStoredSessionLife(app, f);
  await expect(Worker.runReplayHistory({ workflowBundle: sharedStack().workflowBundle }, history)).resolves.toBeUndefined();
});

test('a session now runs its database steps as local activities, and its history replays', async () => {
  const f = await createFixture({ sinkUrl: sink.url, windowSec: SESSION_LIFE_WINDOW_SEC });
  const { history } = await runSessionLife(app, f);
  const events = history.events!;
  // No activity task at all in the session's own history: every step is a local-activity marker.
  expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
  const markers = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
  expect(markers.length).toBeGreaterThanOrEqual(5);
  await expect(Worker.runReplayHistory({ workflowBundle: sharedStack().workflowBundle }, history)).resolves.toBeUndefined();
});

// Delivery workflows run for hours of retries. These two were recorded at f5f3841, before a session
// made the first attempt itself and started them with `attemptsMade` (the recording test started
// deliveryWorkflow directly against the sink: 500 twice then 200, and 500 until given up, 3 attempts).
test.each([
  ['delivery-f5f3841-retried.json', 3, 0],
  ['delivery-f5f3841-given-up.json', 3, 1],
])('a delivery history recorded before attemptsMade (%s) replays on the current workflow code', async (file, lastAttempt, givenUpMarkers) => {
  const history = historyFromJSON(JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')));
  const events = history.events!;
  const started = events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
  expect(started[0]).toBe(lastAttempt);
  expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toHaveLength(givenUpMarkers);
  await expect(Worker.runReplayHistory({ workflowBundle: sharedStack().workflowBundle }, history)).resolves.toBeUndefined();
});

test('a delivery workflow a session started after its own failed first attempt numbers on from it, and replays', async () => {
  const id = testId('replay-delivery');
  sink.failFirst.set(`/replay-delivery/${id}`, 1);
  const handle = await app.temporal.client.workflow.start(deliveryWorkflow, {
    workflowId: id,
    taskQueue: app.config.TEMPORAL_TASK_QUEUE,
    args: [{ deliveryId: id, conversionId: `cv-${id}`, sessionId: `s-${id}`, target: 'publisher', targetId: 'pub-replay', url: `${sink.url}/replay-delivery/${id}?txid=t1`, policy: { initialIntervalMs: 100, maximumIntervalMs: 1000, maximumAttempts: 4, timeoutMs: 2000 }, attemptsMade: 1 }],
  });
  expect(await handle.result()).toBe('delivered');
  const history = await handle.fetchHistory();
  const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!;
  // One attempt made before it: three left, the first retry one interval later than the workflow's own.
  expect(scheduled.retryPolicy).toMatchObject({ maximumAttempts: 3, backoffCoefficient: 2 });
  expect(Number(scheduled.retryPolicy!.initialInterval!.nanos) / 1e6 + Number(scheduled.retryPolicy!.initialInterval!.seconds ?? 0) * 1000).toBe(200);
  expect(sink.received(`/replay-delivery/${id}`)).toHaveLength(2);
  await expect(Worker.runReplayHistory({ workflowBundle: sharedStack().workflowBundle }, history)).resolves.toBeUndefined();
});
