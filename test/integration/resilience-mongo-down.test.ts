import { HELD_CLICKS_MARK_ID, heldClicksMark } from '../../src/persistence/models/held-clicks-mark';
import { sessions } from '../../src/persistence/models/session';
import { idTime } from '../../src/persistence/session-ids';
import type { Fixture } from '../support/fixtures';
import { capturingLogger } from '../support/log-capture';
import { startWithFixture } from '../support/app-with-sink';
import { eventually, get, stopAll, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startOwnStack, type OwnStack } from '../support/own-stack';
import { click, conversionsOf } from '../support/tracking-client';
import { startedSession, startedCount } from '../support/handed-over';

// The database going away (frozen with SIGSTOP, or stopped) must cost neither a click nor an
// accepted conversion, nor hold a request for mongoose's 10 s of buffering: the click path hands
// the session to Temporal after MONGO_OP_TIMEOUT_MS and redirects, a postback is answered 503
// (nothing accepted, the sender retries), and once the database is back every session handed
// over is stored by its workflow. The budget is asserted through what happened (the fallback
// log line, the workflow running while the database is still away), not by a stopwatch.
// This file runs its own stack: freezing the shared FerretDB would stall the other test files.

const CLICKS = 12;
const HANDED_TO_TEMPORAL = 'session insert failed; handing it to Temporal';

let stack: OwnStack;
let app: TestApp;
let sink: HttpSink;
let f: Fixture;
const capture = capturingLogger('warn');

beforeAll(async () => {
  stack = await startOwnStack();
  ({ app, sink, f } = await startWithFixture({ MONGO_OP_TIMEOUT_MS: '1000' }, { ...stack.appServers, log: capture.log }));
}, 120_000);

afterAll(async () => {
  for (const p of stack?.processes() ?? []) process.kill(p.pid, 'SIGCONT');
  await stopAll(app, stack, sink);
}, 60_000);

function databasePids(): number[] {
  const pids = stack.processes().filter((p) => p.name === 'ferretdb').map((p) => p.pid);
  expect(pids).toHaveLength(1);
  return pids;
}

/** A session from before the outage, its workflow running: what a postback during it refers to. */
async function sessionBefore(tag: string): Promise<string> {
  const { sessionId } = await click(app.httpUrl!, f, `&sub1=${tag}`);
  await eventually(() => startedSession(sessionId), 20_000, 'the session from before the outage');
  return sessionId;
}

/** Clicks at once while the database is away: each must still be redirected to the landing page. */
async function clicksDuringOutage(tag: string): Promise<string[]> {
  const clicked = await Promise.all(
    Array.from({ length: CLICKS }, async (_, i) => {
      const { res, sessionId } = await click(app.httpUrl!, f, `&sub1=${tag}-${i}`);
      const landing = new URL(res.headers.get('location')!);
      expect(`${landing.origin}${landing.pathname}`).toBe('https://shop.example/landing');
      expect(landing.searchParams.get('s1')).toBe(`${tag}-${i}`);
      return sessionId;
    }),
  );
  expect(new Set(clicked).size).toBe(CLICKS);
  // Each one took the fallback: the insert gave up, and Temporal holds the session, while the
  // database is still away.
  const handedOver = capture.lines.filter((l) => l.msg === HANDED_TO_TEMPORAL && clicked.includes(l.sessionId as string));
  expect(handedOver).toHaveLength(CLICKS);
  expect(handedOver.every((l) => /within 1000 ms \(MONGO_OP_TIMEOUT_MS\)|session insert: /.test(String(l.err)))).toBe(true);
  for (const id of clicked) {
    const description = await app.temporal.client.workflow.getHandle(id).describe();
    expect(description.status.name).toBe('RUNNING');
  }
  return clicked;
}

/** A postback during the outage: refused with 503 and Retry-After, so the advertiser retries it. */
async function postbackRefused(sessionId: string, txid: string): Promise<void> {
  const res = await get(`${app.httpUrl}/postback?${new URLSearchParams({ click_id: sessionId, event: 'registration', txid, token: f.token })}`);
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('5');
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.error).toMatch(/database did not answer; retry later/);
  expect(typeof body.request_id).toBe('string');
  expect(capture.lines.some((l) => l.msg === 'conversion refused: database unavailable' && l.requestId === body.request_id)).toBe(true);
}

const isNetworkError = (err: unknown) => err instanceof Error && /^Mongo(Network|ServerSelection)Error$/.test(err.name);

/** After the outage: every session handed over is stored, marked started, and its workflow runs. */
async function allStoredAndStarted(clicked: string[]): Promise<void> {
  await eventually(
    // Just after the restart a pooled connection can still be the dead one: polled again.
    async () => (await startedCount(clicked).catch((err: unknown) => (isNetworkError(err) ? -1 : Promise.reject(err)))) === clicked.length,
    60_000,
    'every session handed to Temporal during the outage to be stored',
  );
  const stored = await sessions()
    .find({ _id: { $in: clicked } })
    .toArray();
  expect(stored.map((s) => s.campaignId)).toEqual(clicked.map(() => f.campaignId));
}

/** The postback refused during the outage, sent again, is counted once. */
async function retriedPostbackCounted(sessionId: string, txid: string): Promise<void> {
  const res = await get(`${app.httpUrl}/postback?${new URLSearchParams({ click_id: sessionId, event: 'registration', txid, token: f.token })}`);
  expect(res.status).toBe(202);
  await eventually(async () => (await conversionsOf(sessionId)).length === 1, 30_000, 'the retried postback to be recorded');
  expect((await conversionsOf(sessionId))[0]).toMatchObject({ txid, event: 'registration' });
}

test('a frozen database (SIGSTOP): clicks are redirected and handed to Temporal, a postback gets 503, nothing is lost after SIGCONT', async () => {
  const before = await sessionBefore('frozen-before');
  const [ferretdb] = databasePids();
  process.kill(ferretdb!, 'SIGSTOP');
  let clicked: string[];
  try {
    clicked = await clicksDuringOutage('frozen');
    await postbackRefused(before, 'tx-frozen');
    // The pixel answers its GIF whatever happens; the refused conversion is in the log.
    const pixel = await get(`${app.httpUrl}/px.gif?${new URLSearchParams({ click_id: before, event: 'registration' })}`);
    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toMatch(/image\/gif/);
    const pixelId = pixel.headers.get('x-clicktrail-request-id');
    expect(capture.lines.some((l) => l.msg === 'conversion refused: database unavailable' && l.requestId === pixelId && l.source === 'pixel')).toBe(true);
  } finally {
    process.kill(ferretdb!, 'SIGCONT');
  }
  await allStoredAndStarted(clicked);
  // Other API processes learn that clicks were held, so that they too answer "not yet" (held-clicks.ts).
  const latest = Math.max(...clicked.map(idTime));
  await eventually(async () => ((await heldClicksMark().findOne({ _id: HELD_CLICKS_MARK_ID }))?.lastAt.getTime() ?? 0) >= latest, 30_000, 'the held-clicks mark');
  await retriedPostbackCounted(before, 'tx-frozen');
}, 180_000);

test('a stopped database: the same, and with Temporal down too the visitor is still redirected and the click logged at fatal', async () => {
  const before = await sessionBefore('stopped-before');
  await stack.stopDatabase();
  let clicked: string[];
  try {
    clicked = await clicksDuringOutage('stopped');
    await postbackRefused(before, 'tx-stopped');

    await stack.stopTemporal();
    try {
      const { sessionId } = await click(app.httpUrl!, f, '&sub1=both-down');
      const fatal = await eventually(
        () => capture.lines.find((l) => l.msg === 'click not recorded: MongoDB and Temporal both unavailable' && (l.session as { sessionId?: string })?.sessionId === sessionId),
        10_000,
        'the fatal line with the whole session',
      );
      expect(fatal.level).toBe(60);
      expect(fatal.session).toMatchObject({ campaignId: f.campaignId, publisherId: f.publisherId, publisherData: { sub1: 'both-down' } });
    } finally {
      await stack.startTemporal();
    }
  } finally {
    await stack.startDatabase();
  }
  await allStoredAndStarted(clicked);
  await retriedPostbackCounted(before, 'tx-stopped');
}, 240_000);
