import type { MongoClient } from 'mongodb';
import { v7 as uuidv7 } from 'uuid';
import type { InboundRecord } from '../../src/persistence/models/inbound';
import { sessions, sessionSnapshot } from '../../src/persistence/models/session';
import { createFixture, type Fixture } from '../support/fixtures';
import { startBehindRelay, type RelayedApp } from '../support/database-relay';
import { eventually, type TestApp } from '../support/harness';
import type { TcpProxy } from '../support/tcp-proxy';
import { click, postback } from '../support/tracking-client';
import { startedSession as handedOverSession } from '../support/handed-over';

// Issue #10 item 4 (design review #8): what cannot succeed is not retried forever, and a session
// waiting out a database outage keeps each run's history small, then counts its conversion once
// the database is back. The app reaches FerretDB through a relay this file cuts; the test reads
// the database directly.

const STEP_LIFE_MS = 2_000;
let relay: RelayedApp;
let app: TestApp;
let proxy: TcpProxy;
let direct: MongoClient;
let f: Fixture;

beforeAll(async () => {
  relay = await startBehindRelay({ SESSION_STEP_LIFE_MS: String(STEP_LIFE_MS) });
  ({ app, proxy, direct } = relay);
  f = await createFixture({ sinkUrl: relay.sink.url });
});
afterAll(() => relay?.stop());

async function startedSession(): Promise<string> {
  const { sessionId } = await click(app.httpUrl!, f);
  await eventually(() => handedOverSession(sessionId), 20_000, 'the session workflow to start');
  return sessionId;
}

test('a status update for a conversion that no longer exists is ignored with the reason, not retried forever', async () => {
  const sessionId = await startedSession();
  const sale = { click_id: sessionId, event: 'registration', txid: 'tx-vanished', token: f.token };
  expect((await postback(app.httpUrl!, { ...sale, status: 'pending' })).status).toBe(202);
  await eventually(() => direct.db().collection('conversions').findOne({ sessionId }), 20_000, 'the conversion');
  await direct.db().collection('conversions').deleteMany({ sessionId });

  const update = await postback(app.httpUrl!, { ...sale, status: 'approved' });
  expect(update.status).toBe(202);
  const inbound = await eventually(
    () => direct.db().collection<InboundRecord>('inbound').findOne({ _id: update.body.request_id as string, decision: { $exists: true } }),
    20_000,
    'the decision on the update',
  );
  expect(inbound.decision).toMatchObject({ outcome: 'ignored', reason: expect.stringMatching(/^conversion .+ not found$/) });
  // The session goes on: its view lists the request as ignored and still takes conversions.
  const view = await app.temporal.querySession(sessionId);
  expect(view?.ignored).toEqual([expect.objectContaining({ requestId: update.body.request_id, reason: expect.stringMatching(/not found/) })]);
  expect(view?.queued).toBe(0);
});

test('a session waiting out a database outage continues as new per step life, then counts the conversion once', async () => {
  const sessionId = await startedSession();
  const snapshot = sessionSnapshot((await sessions().findOne({ _id: sessionId }))!);
  const handle = app.temporal.client.workflow.getHandle(sessionId);
  const firstRun = (await handle.describe()).runId;
  await proxy.stop();
  const requestId = uuidv7();
  try {
    // Temporal is up: the conversion is signalled; the database the workflow needs is not.
    await app.temporal.signalConversion(snapshot, {
      requestId, source: 'postback', event: 'registration', txid: 'tx-outage', amountMinor: null, amountCurrency: null, status: 'approved', receivedAtMs: Date.now(),
    });
    // Each run gives its step up after STEP_LIFE_MS and hands the conversion to the next run.
    await eventually(async () => {
      const d = await handle.describe();
      return d.runId !== firstRun && (await handle.query<{ run: number; queued: number }>('session')).run >= 2;
    }, 30_000, 'two continue-as-new during the outage');
    const history = await handle.fetchHistory();
    expect(history.events!.length).toBeLessThan(100);
  } finally {
    await proxy.start();
  }
  const counted = await eventually(() => direct.db().collection('conversions').find({ sessionId }).toArray().then((c) => c.length > 0 && c), 90_000, 'the conversion after the outage');
  expect(counted).toEqual([expect.objectContaining({ txid: 'tx-outage', status: 'approved' })]);
  const inbound = await eventually(() => direct.db().collection<InboundRecord>('inbound').findOne({ _id: requestId }), 20_000, 'the decision');
  expect(inbound.decision).toMatchObject({ outcome: 'recorded' });
  const view = await app.temporal.querySession(sessionId);
  expect(view).toMatchObject({ conversionCount: 1, queued: 0, status: 'converted' });
}, 180_000);
