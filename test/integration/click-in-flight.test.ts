import { randomUUID } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { CLICK_NOT_YET, UNAUTHENTICATED } from '../../src/http/conversion-intake';
import { noteClickHeld } from '../../src/persistence/held-clicks';
import { HELD_CLICKS_MARK_ID, heldClicksMark } from '../../src/persistence/models/held-clicks-mark';
import { inbounds } from '../../src/persistence/models/inbound';
import { withinBudget } from '../../src/persistence/operation-budget';
import type { Fixture } from '../support/fixtures';
import { startWithFixture } from '../support/app-with-sink';
import { eventually, get, stopAll, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { sessionOf, storeSession } from '../support/stored-session';
import { conversionsOf, postback } from '../support/tracking-client';

// A click taken while MongoDB was away is held by Temporal until its workflow stores it, once
// MongoDB answers again. A postback for it in that gap used to get the unknown-click answer (401),
// which its sender never retries: `npm run chaos` lost up to 8 conversions a run that way. Now a
// click id that may be such a click gets 503 with Retry-After, and is counted when sent again.
// The outage is one operation of this process that missed its budget: the in-process app shares
// the operation budget's record of it, as the app's own failed operations do.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;

// The polls below are answered 401 many times over: the per-IP limit on those is not under test here.
beforeAll(async () => ({ app, sink, f } = await startWithFixture({ POSTBACK_AUTH_FAILURES_PER_IP: '1000' })));
afterAll(() => stopAll(app, sink));

const MINUTE = 60_000;
const idMadeAt = (ms: number) => uuidv7({ msecs: ms });
const send = (clickId: string, extra: Record<string, string> = {}) =>
  postback(app.httpUrl!, { click_id: clickId, event: 'registration', txid: `tx-${clickId}`, token: f.token, ...extra });

async function loggedAs(requestId: unknown) {
  return eventually(() => inbounds().findOne({ _id: requestId as string }), 10_000, `the inbound record of ${String(requestId)}`);
}

test('before this process has met MongoDB failing, an unknown recent click id is unknown: 401', async () => {
  const res = await send(idMadeAt(Date.now()));
  expect(res.status).toBe(401);
  expect(res.body.error).toBe(UNAUTHENTICATED);
});

describe('a click another API process handed to Temporal (the held-clicks mark), this one never having met MongoDB failing', () => {
  const markAt = (at: number) => heldClicksMark().updateOne({ _id: HELD_CLICKS_MARK_ID }, { $set: { lastAt: new Date(at) } }, { upsert: true });
  afterAll(() => heldClicksMark().deleteOne({ _id: HELD_CLICKS_MARK_ID }));

  test('a click id made before the latest held click gets 503; one made well after it, 401; once the mark is over 10 minutes old, 401 again', async () => {
    const now = Date.now();
    await markAt(now);
    // The mark is read at most every 2 s: the first 503 is awaited.
    const held = idMadeAt(now - 5_000);
    await eventually(async () => (await send(held)).status === 503, 10_000, 'the held-clicks mark to be read');
    expect((await send(held)).body.error).toBe(CLICK_NOT_YET);
    expect((await send(idMadeAt(now + 2 * MINUTE))).status).toBe(401);

    // A click made 9 min 10 s ago, 20 s after the latest held click: held while that mark is under
    // 10 minutes old, then known as unknown.
    const old = idMadeAt(now - 9 * MINUTE - 10_000);
    await markAt(now - 9 * MINUTE - 30_000);
    await eventually(async () => (await send(old)).status === 503, 10_000, 'the 9.5-minute-old mark to be read');
    await markAt(now - 10 * MINUTE - 5_000);
    await eventually(async () => (await send(old)).status === 401, 10_000, 'the mark over 10 minutes old to be read');
    expect((await send(held)).status).toBe(401);
  }, 30_000);

  test('the process that handed a click over writes the mark once MongoDB answers, and never moves it back', async () => {
    const madeAt = Date.now() + 3_600_000;
    noteClickHeld(madeAt);
    await eventually(async () => (await heldClicksMark().findOne({ _id: HELD_CLICKS_MARK_ID }))?.lastAt.getTime() === madeAt, 15_000, 'the mark to be written');
    noteClickHeld(madeAt - 60_000);
    noteClickHeld(madeAt - 30_000);
    // The publisher's retry interval is 2 s: after three of them the older notes are written, and did not move it.
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await heldClicksMark().findOne({ _id: HELD_CLICKS_MARK_ID }))?.lastAt.getTime()).toBe(madeAt);
  }, 30_000);
});

describe('after MongoDB failed to answer one operation of this process', () => {
  beforeAll(async () => {
    await expect(withinBudget(new Promise(() => undefined), 'an operation MongoDB never answers', 1)).rejects.toThrow(/no answer from MongoDB/);
  });

  test('a click id made before that failure and not found yet gets 503 with Retry-After, logged as refused; sent again once the session is stored, it is counted', async () => {
    const clickId = idMadeAt(Date.now() - 1_000);
    const res = await get(`${app.httpUrl}/postback?${new URLSearchParams({ click_id: clickId, event: 'registration', txid: 'tx-held', token: f.token })}`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.error).toBe(CLICK_NOT_YET);
    expect(await loggedAs(body.request_id)).toMatchObject({ outcome: 'rejected', httpStatus: 503, reason: expect.stringMatching(/may be held by Temporal/) });

    // The session's workflow stores it (as the click's fallback does once MongoDB is back).
    await storeSession({ ...sessionOf(f, 10 * MINUTE), sessionId: clickId });
    const again = await send(clickId, { txid: 'tx-held' });
    expect(again.status).toBe(202);
    await eventually(async () => (await conversionsOf(clickId)).length === 1, 30_000, 'the conversion sent again to be recorded');
  }, 60_000);

  test('the request naming its advertiser: the token is checked first (a wrong one is 401), then the click id not found yet is 503', async () => {
    const clickId = idMadeAt(Date.now());
    expect((await send(clickId, { adv: f.advertiserId, token: 'not-the-token' })).status).toBe(401);
    const res = await send(clickId, { adv: f.advertiserId });
    expect([res.status, res.body.error]).toEqual([503, CLICK_NOT_YET]);
  });

  test('click ids that cannot be a click held since then keep their answers: made over 10 minutes ago, or later than the failure, or not a UUIDv7 (v4 here)', async () => {
    for (const clickId of [idMadeAt(Date.now() - 11 * MINUTE), idMadeAt(Date.now() + 2 * MINUTE), randomUUID()]) {
      const res = await send(clickId);
      expect([clickId, res.status]).toEqual([clickId, 401]);
    }
  });

  test('the pixel still answers its GIF; the log says the click was not found yet (503), not unknown', async () => {
    const res = await get(`${app.httpUrl}/px.gif?${new URLSearchParams({ click_id: idMadeAt(Date.now()), event: 'registration' })}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/image\/gif/);
    expect(await loggedAs(res.headers.get('x-clicktrail-request-id'))).toMatchObject({ source: 'pixel', outcome: 'rejected', httpStatus: 503 });
  });
});
