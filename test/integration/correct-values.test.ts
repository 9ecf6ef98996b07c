import { sessions } from '../../src/persistence/models/session';
import { clientFor, type ApiClient } from '../support/api-client';
import { createFixture, type Fixture } from '../support/fixtures';
import { eventually, stopAll, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startWithFixture } from '../support/app-with-sink';
import { click, conversionsOf, postback, settledDeliveries } from '../support/tracking-client';

// Issue #10 item 5: {amount} in the currency it was reported in, a session that starts counting on
// rejected → approved is converted, a closed session's workflow is not queried, and provider
// notifications are the operator's to assign.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
let short: Fixture;
let operator: ApiClient;
let advertiser: ApiClient;

beforeAll(async () => {
  ({ app, sink, f } = await startWithFixture());
  // Longer than the hand-over's settling (3 s): the session is still open when its workflow starts.
  short = await createFixture({ sinkUrl: sink.url, windowSec: 6 });
  operator = await clientFor(app, 'operator');
  advertiser = await clientFor(app, 'advertiser', f.advertiserId);
});
afterAll(() => stopAll(app, sink));

const searchStatus = async (sessionId: string) =>
  (await app.temporal.client.workflow.getHandle(sessionId).describe()).typedSearchAttributes.getAll().find((p) => p.key.name === 'SessionStatus')?.value;

test('{amount} goes out in the currency it was reported in: JPY 1000 on a fixed EUR event is 1000 JPY', async () => {
  const { sessionId } = await click(app.httpUrl!, f);
  const res = await postback(app.httpUrl!, { click_id: sessionId, event: 'registration', txid: 'tx-jpy', amount: '1000', currency: 'JPY', token: f.token });
  expect(res.status).toBe(202);
  await settledDeliveries(sessionId, 4);
  const [sent] = sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === sessionId);
  // The payout stays in the event's currency; the amount keeps its own.
  expect(sent!.query).toMatchObject({ amount: '1000', payout: '2.50', cur: 'EUR' });
});

test('rejected → approved converts the session: stored status and SessionStatus search attribute', async () => {
  const { sessionId } = await click(app.httpUrl!, f);
  const sale = { click_id: sessionId, event: 'registration', txid: 'tx-flip', token: f.token };
  expect((await postback(app.httpUrl!, { ...sale, status: 'rejected' })).status).toBe(202);
  await eventually(async () => (await conversionsOf(sessionId)).length === 1, 20_000, 'the rejected conversion');
  expect((await sessions().findOne({ _id: sessionId }))?.status).toBe('open');
  expect(await searchStatus(sessionId)).toBe('open');

  expect((await postback(app.httpUrl!, { ...sale, status: 'approved' })).status).toBe(202);
  await eventually(async () => (await sessions().findOne({ _id: sessionId }))?.status === 'converted', 20_000, 'the stored status to become converted');
  await eventually(async () => (await searchStatus(sessionId)) === 'converted', 20_000, 'SessionStatus to become converted');
  expect((await app.temporal.querySession(sessionId))?.status).toBe('converted');
});

test('GET /sessions/{id}: the live workflow while open, workflow null once closed', async () => {
  const { sessionId } = await click(app.httpUrl!, short);
  const open = await eventually(async () => {
    const r = await operator.get(`/sessions/${sessionId}`);
    return r.body.workflow ? r : null;
  }, 20_000, 'the live view');
  expect(open.body).toMatchObject({ workflowState: 'running', workflow: { sessionId, status: 'open', conversionCount: 0 } });

  await app.temporal.client.workflow.getHandle(sessionId).result();
  const closed = await operator.get(`/sessions/${sessionId}`);
  expect(closed.status).toBe(200);
  expect(closed.body).toMatchObject({ id: sessionId, workflowState: 'closed', workflow: null, status: 'expired' });
});

test('an advertiser key cannot assign provider notifications; an operator key can', async () => {
  const refused = await advertiser.patch(`/campaigns/${f.campaignId}`, { providers: { campaign: f.publisherProviderId } });
  expect(refused.status).toBe(400);
  expect(refused.body.fields).toEqual([{ path: 'providers', message: 'is set by the network: only operator keys may set it' }]);
  const created = await advertiser.post('/campaigns', { name: 'Own', landingUrl: 'https://shop.example/?c={click_id}', providers: { business: f.businessProviderId } });
  expect(created.status).toBe(400);
  expect(created.body.fields).toEqual([{ path: 'providers', message: expect.stringMatching(/only operator keys/) }]);
  // Other fields stay the advertiser's own.
  expect((await advertiser.patch(`/campaigns/${f.campaignId}`, { name: 'Renamed' })).status).toBe(200);

  const allowed = await operator.patch(`/campaigns/${f.campaignId}`, { providers: { campaign: f.campaignProviderId, business: null } });
  expect(allowed.status).toBe(200);
  expect(allowed.body.providers).toMatchObject({ campaign: f.campaignProviderId, business: null });
});
