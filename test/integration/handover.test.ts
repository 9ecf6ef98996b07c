import { v7 as uuidv7 } from 'uuid';
import type { ConversionRequest } from '../../src/domain/attribution-rules';
import { STORED_TOO_LATE } from '../../src/http/conversion-intake';
import { CONVERSION_LOG, readConversionState } from '../../src/handover/conversion-log';
import { Handover } from '../../src/handover/handover';
import { claimRange } from '../../src/handover/id-ranges';
import { createLogger } from '../../src/log';
import { Metrics } from '../../src/metrics';
import { readState } from '../../src/handover/session-ranges';
import { idTime } from '../../src/persistence/session-ids';
import { handoverState } from '../../src/persistence/models/handover-state';
import { inbounds, type InboundRecord } from '../../src/persistence/models/inbound';
import { sessions } from '../../src/persistence/models/session';
import { HotPathPressure, pressedAt, reportPressure } from '../../src/persistence/models/hot-path-pressure';
import { rawCollection } from '../../src/persistence/raw-collection';
import { SessionClient } from '../../src/temporal/session-client';
import { createFixture, insertWaitingSessions, type Fixture } from '../support/fixtures';
import { eventually, startTestApp, type TestApp } from '../support/harness';
import { HttpSink } from '../support/http-sink';
import { scrape, seriesValue } from '../support/prometheus';
import { allStarted, startedCount } from '../support/handed-over';
import { click, conversionsOf, postback } from '../support/tracking-client';

// The hand-over (src/handover): stored sessions and the inbound log's accepted conversions are its
// queues, each walked in id order a claimed range at a time. A backlog goes in back-to-back claims,
// two hand-overs never take the same range, a claim whose lease ran out is taken over, and a stop
// gives back what it had not handed over. Neither sessions nor inbound records are written to: the
// claims live in one state document per log. The app's own worker (and hand-over) is stopped
// where a test runs hand-overs of its own, so that only those work on the queue.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
/** The app's: MONGO_OP_TIMEOUT_MS (2 s by default) and a second. */
const SETTLE_MS = 3_000;
const silent = createLogger('silent');
const hotPathPressure = rawCollection(HotPathPressure);

beforeAll(async () => {
  sink = await new HttpSink().start();
  // Idle polls ten minutes apart: only back-to-back rounds can drain a backlog in time.
  app = await startTestApp({ HANDOVER_POLL_MS: '600000', HANDOVER_BATCH: '2', METRICS_PORT: '0' });
  f = await createFixture({ sinkUrl: sink.url });
});
afterEach(() => {
  jest.restoreAllMocks();
});
afterAll(async () => {
  await app?.stop();
  await sink?.stop();
});

/** A hand-over of the test's own on the app's (lazy) client: no eager start, its own metrics. */
function handover(o: Partial<{ batch: number; concurrency: number; leaseMs: number; maxEngineBacklog: number }> = {}) {
  const metrics = new Metrics({ waiting: false });
  const h = new Handover(app.temporal, {
    pollMs: 100, concurrency: o.concurrency ?? 4, batch: o.batch ?? 3, leaseMs: o.leaseMs ?? 30_000, settleMs: SETTLE_MS, eager: false, maxEngineBacklog: o.maxEngineBacklog, log: silent, metrics,
  });
  return {
    h,
    started: async () => seriesValue(await metrics.registry.metrics(), 'clicktrail_handover_items_total', { kind: 'session', outcome: 'started' }),
    engineBacklog: async () => seriesValue(await metrics.registry.metrics(), 'clicktrail_handover_engine_backlog', {}),
  };
}

/** Counts startSession calls per session id, across every SessionClient of this process. */
function countStarts(around?: (id: string) => Promise<void>) {
  const calls = new Map<string, number[]>();
  const start = SessionClient.prototype.startSession;
  jest.spyOn(SessionClient.prototype, 'startSession').mockImplementation(async function (this: SessionClient, s, o) {
    calls.set(s.sessionId, [...(calls.get(s.sessionId) ?? []), Date.now()]);
    await around?.(s.sessionId);
    return start.call(this, s, o);
  });
  return calls;
}


/** Counts signalConversion calls per request id, across every SessionClient of this process. */
function countSignals() {
  const calls = new Map<string, number[]>();
  const signal = SessionClient.prototype.signalConversion;
  jest.spyOn(SessionClient.prototype, 'signalConversion').mockImplementation(async function (this: SessionClient, s, request, o) {
    calls.set(request.requestId, [...(calls.get(request.requestId) ?? []), Date.now()]);
    return signal.call(this, s, request, o);
  });
  return calls;
}

/** For each session, an accepted conversion and, after it in the log, a rejected request, as the API stores them: [accepted ids, rejected ids]. */
async function storeRequests(sessionIds: string[], tag: string): Promise<[string[], string[]]> {
  const accepted: string[] = [];
  const rejected: string[] = [];
  const docs: InboundRecord[] = [];
  for (const [i, sessionId] of sessionIds.entries()) {
    const at = new Date();
    const request: ConversionRequest = { requestId: uuidv7(), source: 'postback', event: 'registration', txid: `tx-${tag}-${i}`, amountMinor: null, amountCurrency: null, status: 'approved', receivedAtMs: at.getTime() };
    docs.push({ _id: request.requestId, source: 'postback', sessionId, params: {}, ip: '203.0.113.9', outcome: 'accepted', httpStatus: 202, reason: null, request, at });
    const refused = uuidv7();
    docs.push({ _id: refused, source: 'postback', sessionId, params: {}, ip: '203.0.113.9', outcome: 'rejected', httpStatus: 400, reason: 'invalid parameters', request: null, at });
    accepted.push(request.requestId);
    rejected.push(refused);
  }
  await inbounds().insertMany(docs);
  return [accepted, rejected];
}

const recorded = (ids: string[]) => async () => (await inbounds().countDocuments({ _id: { $in: ids }, 'decision.outcome': 'recorded' })) === ids.length;

/** Waits until the newest of `ids` is old enough to be claimed. */
const settled = (ids: string[]) => eventually(() => Date.now() > idTime(ids[ids.length - 1]!) + SETTLE_MS, 30_000, 'the sessions to settle');

test('a backlog goes in back-to-back claims, the first as soon as the worker starts', async () => {
  await app.stopWorker();
  const ids = await insertWaitingSessions(f, 5);
  await settled(ids);
  const rounds = jest.spyOn(Handover.prototype, 'runOnce');
  const before = await scrape(app.metricsUrl!);
  await app.startWorker();
  await eventually(allStarted(ids), 30_000, 'every waiting session handed over');
  // 2 + 2 + 1: the last claim was not full, so the hand-over went back to its (ten-minute) poll.
  expect(rounds).toHaveBeenCalledTimes(3);
  for (const id of ids) expect((await app.temporal.client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
  const after = await scrape(app.metricsUrl!);
  expect(seriesValue(after, 'clicktrail_handover_items_total', { kind: 'session', outcome: 'started' }) - seriesValue(before, 'clicktrail_handover_items_total', { kind: 'session', outcome: 'started' })).toBe(5);
  // Nothing was written to the sessions, and no claim is left behind.
  expect(await sessions().countDocuments({ _id: { $in: ids }, $or: [{ workflowStarted: { $exists: true } }, { handoverLease: { $exists: true } }] })).toBe(0);
  expect((await readState()).claims).toEqual([]);
});

test('two hand-overs on one queue start every session exactly once', async () => {
  await app.stopWorker();
  try {
    const ids = await insertWaitingSessions(f, 40);
    const calls = countStarts();
    const a = handover();
    const b = handover();
    a.h.start();
    b.h.start();
    try {
      await eventually(allStarted(ids), 60_000, 'every session handed over');
    } finally {
      await Promise.all([a.h.stop(), b.h.stop()]);
    }
    for (const id of ids) expect(calls.get(id)).toHaveLength(1);
    expect((await a.started()) + (await b.started())).toBe(ids.length);
    // Both took part: claims of 3 interleave.
    expect(await a.started()).toBeGreaterThan(0);
    expect(await b.started()).toBeGreaterThan(0);
  } finally {
    await app.startWorker();
  }
});

test("a claim whose lease has run out is taken over; one that has not is left to its holder", async () => {
  await app.stopWorker();
  try {
    const ids = await insertWaitingSessions(f, 3);
    // As a hand-over killed mid-batch leaves them: its claim on their range, the cursor past them.
    const until = new Date(Date.now() + 2_000);
    const s = await readState();
    await handoverState().replaceOne({ _id: 'sessions', v: s.v }, { next: ids[2]!, claims: [{ from: s.next, to: ids[2]!, by: 'killed-process#1', until }], v: s.v + 1 });
    const calls = countStarts();
    const a = handover();
    a.h.start();
    try {
      await eventually(allStarted(ids), 30_000, 'the leased sessions taken over');
    } finally {
      await a.h.stop();
    }
    for (const id of ids) {
      expect(calls.get(id)).toHaveLength(1);
      expect(calls.get(id)![0]).toBeGreaterThanOrEqual(until.getTime());
    }
  } finally {
    await app.startWorker();
  }
});

test('a stop ends after the calls in flight and gives back what it did not hand over', async () => {
  await app.stopWorker();
  let rest: string[] = [];
  try {
    const ids = await insertWaitingSessions(f, 12);
    await settled(ids);
    let stopNow!: () => void;
    const firstCall = new Promise<void>((resolve) => (stopNow = resolve));
    // Slow calls: the stop comes while the first ones are in flight.
    const calls = countStarts(async () => {
      stopNow();
      await new Promise((r) => setTimeout(r, 300));
    });
    const a = handover({ batch: 12, concurrency: 2 });
    a.h.start();
    await firstCall;
    await a.h.stop();
    const started = await startedCount(ids);
    expect(started).toBe(calls.size);
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThan(ids.length);
    // Its claim (8: two calls in flight, four each) now holds only its sessions not started, free
    // for anyone at once; the sessions after it are past the cursor.
    const state = await readState();
    const [claim] = state.claims;
    rest = ids.filter((id) => !calls.has(id));
    expect([...(claim?.retry ?? [])].sort()).toEqual(rest.filter((id) => id <= claim!.to).sort());
    expect(claim!.until.getTime()).toBeLessThanOrEqual(Date.now());
    expect(rest.filter((id) => id > claim!.to).every((id) => id > state.next)).toBe(true);
  } finally {
    await app.startWorker();
  }
  // The app's hand-over takes the rest.
  await eventually(allStarted(rest), 30_000, 'the rest handed over by the next hand-over');
});

test('a stretch of sessions with nothing to start (imported history, lazy ones) is passed over with one move of the cursor', async () => {
  await app.stopWorker();
  try {
    const imported = await insertWaitingSessions(f, 30);
    await sessions().updateMany({ _id: { $in: imported } }, { $set: { workflowStarted: true } });
    const [waiting] = await insertWaitingSessions(f, 1);
    await settled([waiting!]);
    const calls = countStarts();
    const reads = jest.spyOn(sessions(), 'find');
    const a = handover({ batch: 3 });
    a.h.start();
    try {
      await eventually(allStarted([waiting!]), 30_000, 'the session after the imported ones');
    } finally {
      await a.h.stop();
    }
    expect([...calls.keys()]).toEqual([waiting]);
    expect((await readState()).next >= waiting!).toBe(true);
    // Ten claims of three would have read the imported sessions ten times; the walk skips them in its query.
    expect(reads.mock.calls.length).toBeLessThan(10);
  } finally {
    await app.startWorker();
  }
});

test('two hand-overs walk the inbound log: each accepted conversion signalled once, rejected requests passed over, nothing written to the records', async () => {
  await app.stopWorker();
  const sessionIds = await insertWaitingSessions(f, 10);
  const [accepted, rejected] = await storeRequests(sessionIds, 'walk');
  const signals = countSignals();
  try {
    const a = handover();
    const b = handover();
    a.h.start();
    b.h.start();
    try {
      await eventually(() => accepted.every((id) => signals.has(id)), 60_000, 'every accepted conversion signalled');
    } finally {
      await Promise.all([a.h.stop(), b.h.stop()]);
    }
    const state = await readConversionState();
    expect(state.claims).toEqual([]);
    expect(state.next >= accepted[accepted.length - 1]!).toBe(true);
    // The hand-overs wrote nothing to the records.
    expect(await inbounds().countDocuments({ _id: { $in: [...accepted, ...rejected] }, $or: [{ signalled: { $exists: true } }, { handoverLease: { $exists: true } }, { decision: { $exists: true } }] })).toBe(0);
  } finally {
    await app.startWorker();
  }
  // The worker runs the workflows: each conversion recorded once, its decision on its record; the
  // app's own hand-over (started again) signals nothing twice.
  await eventually(recorded(accepted), 60_000, 'every accepted conversion recorded');
  for (const id of sessionIds) expect(await conversionsOf(id)).toHaveLength(1);
  for (const id of accepted) expect(signals.get(id)).toHaveLength(1);
  for (const id of rejected) expect(signals.has(id)).toBe(false);
  expect(await inbounds().countDocuments({ _id: { $in: rejected }, decision: { $exists: true } })).toBe(0);
});

test('a claim on conversions whose holder died is taken over once its lease runs out', async () => {
  await app.stopWorker();
  try {
    const sessionIds = await insertWaitingSessions(f, 3);
    const [accepted] = await storeRequests(sessionIds, 'killed');
    await settled(accepted);
    // As a hand-over killed mid-range leaves it: its claim on the range, the cursor past it.
    const dead = await claimRange(CONVERSION_LOG, { by: 'killed-process#1', leaseMs: 2_000, limit: 10, settleMs: SETTLE_MS });
    expect(dead.claim).not.toBeNull();
    const until = dead.claim!.until.getTime();
    expect(dead.claim && 'items' in dead ? dead.items.map((i) => i._id) : []).toEqual(accepted);
    const signals = countSignals();
    const a = handover();
    a.h.start();
    try {
      await eventually(() => accepted.every((id) => signals.has(id)), 30_000, 'the claimed conversions taken over');
    } finally {
      await a.h.stop();
    }
    for (const id of accepted) {
      expect(signals.get(id)).toHaveLength(1);
      expect(signals.get(id)![0]).toBeGreaterThanOrEqual(until);
    }
    expect((await readConversionState()).claims).toEqual([]);
  } finally {
    await app.startWorker();
  }
});

test('a postback whose insert is acknowledged after its deadline is answered 503, marked refused, and never signalled', async () => {
  // A hand-over of the test's own: the app's polls ten minutes apart.
  const a = handover();
  a.h.start();
  try {
    await lateInsert();
  } finally {
    await a.h.stop();
  }
});

async function lateInsert(): Promise<void> {
  const { sessionId } = await click(app.httpUrl!, f, '&sub1=late-insert');
  const insertOne = inbounds().insertOne.bind(inbounds());
  // Past MONGO_OP_TIMEOUT_MS (2 s) from the request's arrival: a database that stalled on this one write.
  jest.spyOn(inbounds(), 'insertOne').mockImplementationOnce(async (doc, o) => {
    await new Promise((r) => setTimeout(r, 2_200));
    return insertOne(doc, o);
  });
  const res = await postback(app.httpUrl!, { click_id: sessionId, event: 'registration', txid: 'tx-late-insert', token: f.token });
  expect(res.status).toBe(503);
  expect(res.body.error).toMatch(/unable to record the conversion in time; retry later/);
  const requestId = res.body.request_id as string;
  const stored = await eventually(() => inbounds().findOne({ _id: requestId, outcome: 'rejected' }), 10_000, 'the late record marked refused');
  expect(stored).toMatchObject({ httpStatus: 503, reason: STORED_TOO_LATE, sessionId });
  // The app's hand-over walks past it and signals nothing for it.
  await eventually(async () => (await readConversionState()).next > requestId, 30_000, 'the walk past the refused record');
  expect(await conversionsOf(sessionId)).toHaveLength(0);
  expect((await inbounds().findOne({ _id: requestId }))?.decision).toBeUndefined();

  // The sender's retry is a new request, accepted and recorded once.
  const retry = await postback(app.httpUrl!, { click_id: sessionId, event: 'registration', txid: 'tx-late-insert', token: f.token });
  expect(retry).toMatchObject({ status: 202, body: { outcome: 'accepted' } });
  await eventually(async () => (await conversionsOf(sessionId)).length === 1, 30_000, 'the retry recorded');
}

test('a round that finds nothing stored and no claim open says it is idle, and the next round then waits idleMs', async () => {
  await app.stopWorker();
  const { h } = handover();
  // Whatever earlier tests left is handed over first.
  await eventually(async () => (await h.runOnce()).idle, 30_000, 'an idle round');
  const [id] = await insertWaitingSessions(f, 1);
  // Stored, not settled yet: not idle, and the round says when it can be claimed.
  expect(await h.runOnce()).toMatchObject({ sessions: 0, idle: false, wakeAt: idTime(id!) + SETTLE_MS });
  await settled([id!]);
  expect(await h.runOnce()).toMatchObject({ sessions: 1, idle: false });
  expect((await h.runOnce()).idle).toBe(true);

  // Started with a 50 ms poll and a long idle delay: after its first (idle) round, no other comes.
  const metrics = new Metrics({ waiting: false });
  const idle = new Handover(app.temporal, { pollMs: 50, idleMs: 600_000, concurrency: 4, batch: 3, leaseMs: 30_000, settleMs: SETTLE_MS, eager: false, log: silent, metrics });
  const rounds = jest.spyOn(idle, 'runOnce');
  idle.start();
  try {
    await eventually(() => rounds.mock.calls.length === 1, 10_000, 'the first round');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(rounds).toHaveBeenCalledTimes(1);
  } finally {
    await idle.stop();
    await app.startWorker();
  }
});

test('a press that starts during a round cuts it short: the rest of its claim goes back and is handed over later', async () => {
  await app.stopWorker();
  const { h: drain } = handover();
  await eventually(async () => (await drain.runOnce()).idle, 30_000, 'an idle round');
  const ids = await insertWaitingSessions(f, 200);
  await settled(ids);

  // Not pressed when the round starts (a full claim of 128), pressed at the next look, during it.
  let looks = 0;
  let unreadable = false;
  const metrics = new Metrics({ waiting: false });
  const h = new Handover(app.temporal, {
    pollMs: 50, concurrency: 32, batch: 200, leaseMs: 30_000, settleMs: SETTLE_MS, eager: false,
    hotPathPressed: async () => {
      if (unreadable) throw new Error('database down');
      return ++looks > 1;
    },
    pressureReadMs: 0, log: silent, metrics,
  });
  try {
    const round = await h.runOnce();
    expect(looks).toBeGreaterThan(1);
    // The 32 the pace had in flight when the press was heard, not the claim's 128.
    expect(round.sessions).toBeGreaterThanOrEqual(16);
    expect(round.sessions).toBeLessThan(128);
    expect(await startedCount(ids)).toBe(round.sessions);
    expect(seriesValue(await metrics.registry.metrics(), 'clicktrail_handover_yielding', {})).toBe(1);

    // The pressure cannot be read: the last answer stands (still a claim of 16).
    unreadable = true;
    const next = await h.runOnce();
    expect(next.sessions).toBe(16);
    expect(await startedCount(ids)).toBe(round.sessions + 16);
  } finally {
    await h.stop();
  }
  // What the rounds gave back is not lost: a hand-over at full pace takes it.
  const { h: after } = handover();
  await eventually(async () => (await after.runOnce(), await allStarted(ids)()), 30_000, 'every session handed over');
  await app.startWorker();
});

test('while an API host says its hot paths are pressed, the hand-over takes small claims a second apart; after, full pace again', async () => {
  await app.stopWorker();
  const { h: drain } = handover();
  await eventually(async () => (await drain.runOnce()).idle, 30_000, 'an idle round');
  await hotPathPressure().deleteMany({});
  const ids = await insertWaitingSessions(f, 100);
  await settled(ids);

  // Another host asked until a moment ago (said nothing now), this one for a minute; $max keeps the later.
  await reportPressure('api-2', new Date(Date.now() - 1));
  expect(await pressedAt(new Date())).toBe(false);
  await reportPressure('api-1', new Date(Date.now() + 60_000));
  await reportPressure('api-1', new Date(Date.now() + 1_000));
  expect(await pressedAt(new Date(Date.now() + 30_000))).toBe(true);
  // Old hosts' documents go by themselves (a TTL index a day past `until`).
  expect((await hotPathPressure().indexes()).find((i) => i.key.until === 1)?.expireAfterSeconds).toBe(86_400);

  const metrics = new Metrics({ waiting: false });
  const h = new Handover(app.temporal, { pollMs: 50, concurrency: 32, batch: 200, leaseMs: 30_000, settleMs: SETTLE_MS, eager: false, hotPathPressed: pressedAt, log: silent, metrics });
  // Pressed: a claim of 16, not the 128 a pace of 32 allows.
  expect(await h.runOnce()).toMatchObject({ sessions: 16, backlog: true });
  expect(seriesValue(await metrics.registry.metrics(), 'clicktrail_handover_yielding', {})).toBe(1);
  expect(await startedCount(ids)).toBe(16);

  const rounds: number[] = [];
  const runOnce = h.runOnce.bind(h);
  jest.spyOn(h, 'runOnce').mockImplementation(async () => {
    rounds.push(Date.now());
    return runOnce();
  });
  h.start();
  try {
    await eventually(() => rounds.length >= 2, 10_000, 'two rounds while pressed');
    // A backlog, yet a second between rounds while pressed.
    expect(rounds[1]! - rounds[0]!).toBeGreaterThanOrEqual(1_000);
    expect(await startedCount(ids)).toBeLessThan(ids.length);
    await hotPathPressure().deleteMany({});
    // No longer pressed (read again within a second): full claims, and the rest handed over.
    await eventually(async () => seriesValue(await metrics.registry.metrics(), 'clicktrail_handover_yielding', {}) === 0, 10_000, 'no longer yielding');
    await eventually(allStarted(ids), 30_000, 'every session handed over');
  } finally {
    await h.stop();
    await app.startWorker();
  }
});

test("Temporal's count of workflow tasks waiting for a worker: what the hand-over holds session starts back on", async () => {
  // A task queue no worker polls: every start leaves its first workflow task waiting there.
  const queue = `no-worker-${uuidv7()}`;
  const probe = new SessionClient(app.temporal.client, queue, undefined as never);
  expect(await probe.workflowTaskBacklog()).toBe(0);
  const ids = Array.from({ length: 5 }, () => `backlog-${uuidv7()}`);
  for (const workflowId of ids) await app.temporal.client.workflow.start('nothing', { taskQueue: queue, workflowId });
  try {
    await eventually(async () => (await probe.workflowTaskBacklog()) === 5, 15_000, 'the five first tasks counted');
  } finally {
    for (const id of ids) await app.temporal.client.workflow.getHandle(id).terminate('test over');
  }
});

test('while more workflow tasks than its bound wait for a worker, the hand-over starts no session (they wait in MongoDB) but still signals conversions', async () => {
  await app.stopWorker();
  let backlog = 120;
  jest.spyOn(SessionClient.prototype, 'workflowTaskBacklog').mockImplementation(async () => backlog);
  try {
    const ids = await insertWaitingSessions(f, 8);
    const converting = await insertWaitingSessions(f, 2);
    const [accepted] = await storeRequests(converting, 'engine-backlog');
    await settled([...ids, ...converting]);
    const signals = countSignals();
    const a = handover({ maxEngineBacklog: 50 });
    a.h.start();
    await eventually(async () => accepted.every((id) => signals.has(id)), 15_000, 'the conversions signalled while session starts are held');
    // A few rounds more, each reading the backlog (at most once a second).
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await startedCount(ids)).toBe(0);
    expect(await a.engineBacklog()).toBe(120);
    backlog = 50; // at the bound: no longer behind
    await eventually(allStarted(ids), 15_000, 'the held sessions started once the backlog fell');
    await a.h.stop();
    expect(await a.started()).toBe(ids.length);
  } finally {
    await app.startWorker();
  }
});
