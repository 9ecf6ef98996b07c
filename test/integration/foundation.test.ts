import { v7 as uuidv7 } from 'uuid';
import { Session, sessionSnapshot } from '../../src/persistence/models/session';
import { eventually, startTestApp, type TestApp } from '../support/harness';

// The wiring everything stands on: a workflow started on the real Temporal dev server runs an
// activity that writes with mongoose to the real FerretDB, and the document reads back.

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

test('a session workflow persists its session through an activity into FerretDB', async () => {
  const now = Date.now();
  const sessionId = uuidv7({ msecs: now });
  const started = await app.temporal.startSession({
    sessionId,
    advertiserId: 'adv-1',
    campaignId: 'cmp-1',
    assetId: null,
    publisherId: 'pub-1',
    supportId: null,
    ip: '203.0.113.7',
    country: 'FR',
    device: { type: 'desktop', os: 'Linux', browser: 'Firefox', vendor: null, model: null },
    userAgent: 'test',
    publisherData: { sub1: 'a b' },
    referrer: null,
    providers: { campaign: null, publisher: null, business: null },
    bot: false,
    duplicate: false,
    createdAtMs: now,
    expiresAtMs: now + 60_000,
  }, { sessionStored: false });
  expect(started.closed).toBe(false);

  const doc = await eventually(() => Session.findById(sessionId).lean(), 20_000, 'the session document');
  expect(doc).toMatchObject({ campaignId: 'cmp-1', country: 'FR', publisherData: { sub1: 'a b' }, workflowStarted: true, status: 'open' });
  expect(doc.expiresAt.getTime()).toBe(now + 60_000);

  const view = await app.temporal.querySession(sessionId);
  expect(view).toMatchObject({ sessionId, status: 'open', conversions: [] });
  // Starting the same session again is a no-op on the running workflow, not a second session.
  expect(await app.temporal.startSession({ ...(await sessionSnapshotOf(sessionId)) }, { sessionStored: true })).toEqual({ closed: false, eager: false });
  const handle = app.temporal.client.workflow.getHandle(sessionId);
  expect((await handle.describe()).status.name).toBe('RUNNING');
});

test('the health endpoint answers', async () => {
  const res = await fetch(app.url('/healthz'));
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
});

async function sessionSnapshotOf(id: string) {
  const rec = await Session.findById(id).lean().orFail();
  return sessionSnapshot(rec as never);
}
