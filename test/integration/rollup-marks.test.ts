import { v7 as uuidv7 } from 'uuid';
import type { ConversionRequest } from '../../src/domain/attribution-rules';
import { inbounds } from '../../src/persistence/models/inbound';
import { sessionRecord, sessions } from '../../src/persistence/models/session';
import { bucketStart } from '../../src/reports/rollup-cubes';
import { dirtyBlocks, dirtyId } from '../../src/reports/rollup-store';
import { createFixture, type Fixture } from '../support/fixtures';
import { eventually, startTestApp, type TestApp } from '../support/harness';
import { HttpSink } from '../support/http-sink';
import { click, conversionsOf, postback } from '../support/tracking-client';

// A conversion marks its quarter-hour for the report rollups only when the rollup writer may
// already have read that quarter-hour: recorded within ROLLUP_LATE_MS / 2 of its arrival, it
// leaves the mark (one row every conversion of the quarter-hour would update) to the writer.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;

beforeAll(async () => {
  sink = await new HttpSink().start();
  // No rollup writer in this process: the only marks are the activities'.
  app = await startTestApp({ ROLLUP_INTERVAL_MS: '0' });
  f = await createFixture({ sinkUrl: sink.url });
});
afterAll(async () => {
  await app?.stop();
  await sink?.stop();
});

const markOf = (t: number) => dirtyBlocks().countDocuments({ _id: dirtyId(0, bucketStart(t, 0)) });

test('a conversion recorded soon after it arrived leaves its quarter-hour unmarked; one recorded long after marks it', async () => {
  const { sessionId } = await click(app.httpUrl!, f, '&sub1=fresh-mark');
  const res = await postback(app.httpUrl!, { click_id: sessionId, event: 'registration', txid: 'tx-fresh-mark', token: f.token });
  expect(res.status).toBe(202);
  const [fresh] = await eventually(async () => {
    const c = await conversionsOf(sessionId);
    return c.length ? c : null;
  }, 30_000, 'the fresh conversion');
  expect(await markOf(fresh!.createdAt.getTime())).toBe(0);

  // Received twenty minutes ago (a worker was away, say), recorded now: its quarter-hour may have been read.
  const now = Date.now();
  const createdAtMs = now - 30 * 60_000;
  const lateSession = uuidv7({ msecs: createdAtMs });
  await sessions().insertOne(
    sessionRecord(
      {
        sessionId: lateSession, advertiserId: f.advertiserId, campaignId: f.campaignId, assetId: null, publisherId: f.publisherId, supportId: null,
        ip: '203.0.113.9', country: null, device: { type: 'desktop', os: null, browser: null, vendor: null, model: null }, userAgent: null,
        publisherData: {}, referrer: null, providers: { campaign: null, publisher: null, business: null }, bot: false, duplicate: false,
        createdAtMs, expiresAtMs: now + 3_600_000,
      },
      false,
    ),
  );
  const receivedAtMs = now - 20 * 60_000;
  const request: ConversionRequest = { requestId: uuidv7(), source: 'postback', event: 'registration', txid: 'tx-late-mark', amountMinor: null, amountCurrency: null, status: 'approved', receivedAtMs };
  await inbounds().insertOne({ _id: request.requestId, source: 'postback', sessionId: lateSession, params: {}, ip: '203.0.113.9', outcome: 'accepted', httpStatus: 202, reason: null, request, at: new Date(receivedAtMs) });
  expect(await markOf(receivedAtMs)).toBe(0);
  await eventually(async () => (await conversionsOf(lateSession)).length === 1, 30_000, 'the late conversion');
  expect(await markOf(receivedAtMs)).toBe(1);
});
