import { randomUUID } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { CLICK_NOT_YET, UNAUTHENTICATED } from '../../src/http/conversion-intake';
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

beforeAll(async () => ({ app, sink, f } = await startWithFixture()));
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
