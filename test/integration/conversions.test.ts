import { Conversion } from '../../src/persistence/models/conversion';
import { Delivery } from '../../src/persistence/models/delivery';
import { Inbound } from '../../src/persistence/models/inbound';
import { Session } from '../../src/persistence/models/session';
import { clickUrl, createFixture, type Fixture } from '../support/fixtures';
import type { HttpSink } from '../support/http-sink';
import { startWithFixture } from '../support/app-with-sink';
import { eventually, navigate, stopAll, type TestApp } from '../support/harness';
import { UNAUTHENTICATED } from '../../src/http/conversion-intake';

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
beforeAll(async () => ({ app, sink, f } = await startWithFixture()));
afterAll(() => stopAll(app, sink));

async function click(fx: Fixture = f, extra = '', headers: Record<string, string> = {}) {
  const res = await navigate(clickUrl(app.httpUrl!, fx, extra), headers);
  expect(res.status).toBe(302);
  const sessionId = new URL(res.headers.get('location')!).searchParams.get('cid')!;
  return { sessionId, cookie: res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
}

async function postback(query: Record<string, string>, init: RequestInit = {}) {
  const res = await fetch(`${app.httpUrl}/postback?${new URLSearchParams(query)}`, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const conversionsOf = (sessionId: string) => Conversion.find({ sessionId }).sort({ createdAt: 1 }).lean();

test('the whole path: click → pixel with the cookie → conversion → publisher postback and provider notifications', async () => {
  const { sessionId, cookie } = await click(f, '&sub1=s-one&utm_source=mail');
  const px = await fetch(`${app.httpUrl}/px.gif?campaign=${f.campaignId}&event=sale&amount=120.00&currency=EUR&txid=T-1`, { headers: { cookie } });
  expect(px.status).toBe(200);
  expect(px.headers.get('content-type')).toBe('image/gif');
  expect(px.headers.get('cache-control')).toMatch(/no-store/);
  expect(Buffer.from(await px.arrayBuffer()).subarray(0, 6).toString()).toBe('GIF89a');

  const [conv] = await eventually(async () => (await conversionsOf(sessionId)).length === 1 && conversionsOf(sessionId), 20_000, 'the conversion');
  expect(conv).toMatchObject({
    event: 'sale', txid: 'T-1', amountMinor: 12000, amountCurrency: 'EUR', currency: 'EUR',
    payoutMinor: 1200, revenueMinor: 2400, status: 'approved', source: 'pixel',
    publisherId: f.publisherId, campaignId: f.campaignId, advertiserId: f.advertiserId,
  });

  const [pb] = await eventually(() => {
    const got = sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === sessionId);
    return got.length > 0 && got;
  }, 20_000, 'the publisher postback');
  expect(pb!.query).toEqual({
    cid: sessionId, event: 'sale', txid: 'T-1', amount: '120.00', payout: '12.00', cur: 'EUR', status: 'approved',
    s1: 's-one', p: 'mail', conv: conv!._id,
  });
  const providers = await eventually(() => {
    const got = sink.received('/provider/').filter((r) => r.query.cid === sessionId);
    return got.length === 3 && got;
  }, 20_000, 'three provider notifications');
  expect(providers.map((r) => r.path.split('/')[2]).sort()).toEqual([f.businessProviderId, f.campaignProviderId, f.publisherProviderId].sort());

  const attempts = await eventually(async () => {
    const d = await Delivery.find({ conversionId: conv!._id }).lean();
    return d.length === 4 && d;
  }, 20_000, 'four delivery documents');
  expect(attempts.every((a) => a.outcome === 'delivered' && a.statusCode === 200 && a.attempt === 1)).toBe(true);
  expect(attempts.every((a) => typeof a.latencyMs === 'number')).toBe(true);
  const inbound = await Inbound.findOne({ sessionId, source: 'pixel' }).lean();
  expect(inbound).toMatchObject({ outcome: 'accepted', httpStatus: 202 });
});

describe('postback aliases of the established platforms', () => {
  // `payout` (Voluum, Keitaro) is what the conversion pays the network: the advertiser's revenue,
  // never the sale amount; the publisher's payout comes from the campaign's rules (registration: 2.50).
  type Expected = { txid: string; amountMinor: number | null; revenueMinor: number; payoutMinor: number; event: string };
  const cases: [string, (id: string, token: string) => Record<string, string>, Expected][] = [
    ['Everflow', (id, t) => ({ transaction_id: id, amount: '10.50', event_id: 'sale', order_id: 'EF-1', verification_token: t }), { txid: 'EF-1', amountMinor: 1050, revenueMinor: 210, payoutMinor: 105, event: 'sale' }],
    ['TUNE', (id, t) => ({ transaction_id: id, amount: '3', goal_id: 'sale', security_token: t, status: 'approved' }), { txid: '', amountMinor: 300, revenueMinor: 60, payoutMinor: 30, event: 'sale' }],
    ['Affise', (id, t) => ({ clickid: id, action_id: 'AF-9', goal: 'registration', sum: '0', status: 'pending', secure: t }), { txid: 'AF-9', amountMinor: 0, revenueMinor: 400, payoutMinor: 250, event: 'registration' }],
    ['Voluum', (id, t) => ({ cid: id, payout: '7.25', txid: 'VO-1', currency: 'EUR', et: 'registration', token: t }), { txid: 'VO-1', amountMinor: null, revenueMinor: 725, payoutMinor: 250, event: 'registration' }],
    ['Keitaro', (id, t) => ({ subid: id, status: 'approved', payout: '1.10', sale_amount: '20', tid: 'KT-1', currency: 'eur', event: 'sale', token: t }), { txid: 'KT-1', amountMinor: 2000, revenueMinor: 110, payoutMinor: 200, event: 'sale' }],
    ['Prosper202', (id, t) => ({ subid: id, amount: '99.99', txid: 'P2-1', event: 'sale', token: t }), { txid: 'P2-1', amountMinor: 9999, revenueMinor: 2000, payoutMinor: 1000, event: 'sale' }],
    ['clicktrail', (id, t) => ({ session_id: id, event: 'registration', transaction_id: 'CT-1', revenue: '5', token: t }), { txid: 'CT-1', amountMinor: null, revenueMinor: 500, payoutMinor: 250, event: 'registration' }],
  ];
  test.each(cases)('%s', async (_name, params, expected) => {
    const { sessionId } = await click();
    const res = await postback(params(sessionId, f.token));
    expect(res).toMatchObject({ status: 202, body: { outcome: 'accepted', session_id: sessionId } });
    const [conv] = await eventually(async () => (await conversionsOf(sessionId)).length === 1 && conversionsOf(sessionId), 20_000, 'the conversion');
    expect(conv).toMatchObject({ ...expected, txid: expected.txid || null, source: 'postback' });
  });
});

describe('postback errors', () => {
  let sessionId: string;
  beforeAll(async () => {
    ({ sessionId } = await click());
  });

  // Before authentication every failure is the same 401 (audit L1); the inbound log says which.
  const generic401 = { status: 401, body: { error: UNAUTHENTICATED } };

  test('missing or wrong token: the generic 401, the reason in the inbound log', async () => {
    const none = await postback({ click_id: sessionId, event: 'sale' });
    const wrong = await postback({ click_id: sessionId, event: 'sale', token: 'nope' });
    expect(none).toMatchObject(generic401);
    expect(wrong).toMatchObject(generic401);
    const logged = await eventually(async () => {
      const docs = await Inbound.find({ _id: { $in: [String(none.body.request_id), String(wrong.body.request_id)] } }).lean();
      return docs.length === 2 && docs;
    }, 10_000, 'both refusals logged');
    expect(logged.map((d) => d.reason).sort()).toEqual(['unauthenticated: no token', `unauthenticated: wrong token for advertiser ${f.advertiserId}`]);
  });

  test('an IP outside the advertiser allowlist: the same 401, right token or not', async () => {
    const locked = await createFixture({ sinkUrl: sink.url, ipAllowlist: ['10.1.2.0/24'] });
    const { sessionId: id } = await click(locked);
    expect(await postback({ click_id: id, event: 'sale', token: locked.token })).toMatchObject(generic401);
    expect(await postback({ click_id: id, event: 'sale', token: 'wrong' })).toMatchObject(generic401);
  });

  test('X-Forwarded-For from an untrusted peer does not get past the allowlist', async () => {
    const locked = await createFixture({ sinkUrl: sink.url, ipAllowlist: ['10.1.2.3'] });
    const { sessionId: id } = await click(locked);
    const res = await postback({ click_id: id, event: 'sale', token: locked.token }, { headers: { 'X-Forwarded-For': '10.1.2.3' } });
    expect(res.status).toBe(401);
  });

  test('unknown click id: the generic 401 unless the advertiser is named and authenticated, then 404; malformed click id: 400', async () => {
    const unknown = '01234567-89ab-7def-8123-456789abcdef';
    expect(await postback({ click_id: unknown, event: 'sale', token: f.token })).toMatchObject(generic401);
    expect((await postback({ click_id: unknown, event: 'sale', token: f.token, adv: f.advertiserId })).status).toBe(404);
    const bad = await postback({ click_id: 'not-a-click', event: 'sale', token: f.token });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual([expect.objectContaining({ path: 'click_id' })]);
    const none = await postback({ event: 'sale', token: f.token });
    expect(none.status).toBe(400);
    expect(JSON.stringify(none.body.fields)).toMatch(/click_id.*clickid, cid, subid, session_id/);
  });

  test('malformed amount, currency, status or event: 400 naming the field, nothing recorded', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ amount: '12,50' }, 'amount'],
      [{ amount: '-1' }, 'amount'],
      [{ amount: '1e3' }, 'amount'],
      [{ amount: '1.234', currency: 'EUR' }, 'amount'],
      [{ currency: 'EURO', amount: '1' }, 'currency'],
      [{ amount: '1', currency: 'USD' }, 'currency'],
      [{ status: 'maybe' }, 'status'],
      [{ event: 'purchase' }, 'event'],
    ];
    for (const [extra, field] of cases) {
      const res = await postback({ click_id: sessionId, event: 'sale', token: f.token, ...extra });
      expect([res.status, (res.body.fields as { path: string }[] | undefined)?.map((e) => e.path)]).toEqual([400, [field]]);
    }
    expect(await Conversion.countDocuments({ sessionId })).toBe(0);
  });

  test('POST with JSON or form bodies works; other methods are refused', async () => {
    const { sessionId: id } = await click();
    const json = await fetch(`${app.httpUrl}/postback`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ click_id: id, event: 'sale', txid: 'J-1', amount: 2, token: f.token }),
    });
    expect(json.status).toBe(202);
    const form = await fetch(`${app.httpUrl}/postback`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ click_id: id, event: 'sale', txid: 'F-1', amount: '3', token: f.token }),
    });
    expect(form.status).toBe(202);
    await eventually(async () => (await Conversion.countDocuments({ sessionId: id })) === 2, 20_000, 'two conversions');
    const broken = await fetch(`${app.httpUrl}/postback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"click_id":' });
    expect(broken.status).toBe(400);
    expect((await fetch(`${app.httpUrl}/postback`, { method: 'PUT' })).status).toBe(405);
  });

  test('the pixel answers the GIF whatever happened, and records why', async () => {
    const before = await Inbound.countDocuments({ source: 'pixel', outcome: 'rejected' });
    for (const q of ['', '?click_id=garbage', `?click_id=${sessionId}&event=nope`, '?amount=abc&currency=XXX1']) {
      const px = await fetch(`${app.httpUrl}/px.gif${q}`);
      expect(px.status).toBe(200);
      expect(px.headers.get('content-type')).toBe('image/gif');
    }
    await eventually(async () => (await Inbound.countDocuments({ source: 'pixel', outcome: 'rejected' })) - before === 4, 10_000, 'four rejected pixels recorded');
    const html = await fetch(`${app.httpUrl}/px.html?click_id=${sessionId}&event=registration`);
    expect([html.status, html.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
  });
});

describe('attribution rules', () => {
  test('registration then sale on one session; a non-repeatable event and a repeated txid count once', async () => {
    const { sessionId } = await click();
    const send = (q: Record<string, string>) => postback({ click_id: sessionId, token: f.token, ...q });
    const stored = (n: number) => eventually(async () => (await Conversion.countDocuments({ sessionId })) === n, 20_000, `${n} conversions`);
    expect((await send({ event: 'registration' })).status).toBe(202);
    await stored(1);
    // Once a conversion is stored, the same one again is answered as a duplicate at once.
    expect(await send({ event: 'registration' })).toMatchObject({ status: 200, body: { outcome: 'duplicate', reason: expect.stringMatching(/event "registration" already counted for this session on conversion/) } });
    expect((await send({ event: 'sale', txid: 'S-1', amount: '50' })).status).toBe(202);
    await stored(2);
    expect(await send({ event: 'sale', txid: 'S-1', amount: '50' })).toMatchObject({ status: 200, body: { outcome: 'duplicate', reason: expect.stringMatching(/transaction S-1 already counted on conversion/) } });
    expect((await send({ event: 'sale', txid: 'S-2', amount: '10' })).status).toBe(202);
    const view = await eventually(async () => {
      const v = await app.temporal.querySession(sessionId);
      return v && v.conversions.length === 3 && v;
    }, 20_000, 'three conversions counted');
    expect(view.conversions.map((c) => [c.event, c.txid, c.payoutMinor])).toEqual([
      ['registration', null, 250],
      ['sale', 'S-1', 500],
      ['sale', 'S-2', 100],
    ]);
    expect(await Conversion.countDocuments({ sessionId })).toBe(3);
    expect(view.status).toBe('converted');
    // Stored too, while the window is still open, so lists and reports can filter on it.
    expect((await Session.findById(sessionId).lean())?.status).toBe('converted');
  });

  test('a transaction id counted on another session of the same advertiser is not counted again', async () => {
    const a = await click();
    const b = await click();
    expect((await postback({ click_id: a.sessionId, event: 'registration', txid: 'SHARED-1', token: f.token })).status).toBe(202);
    const [first] = await eventually(async () => (await conversionsOf(a.sessionId)).length === 1 && conversionsOf(a.sessionId), 20_000, 'first conversion');
    const again = await postback({ click_id: b.sessionId, event: 'registration', txid: 'SHARED-1', token: f.token });
    expect(again).toMatchObject({ status: 200, body: { outcome: 'duplicate', conversion_id: first!._id, reason: expect.stringMatching(/SHARED-1 already counted on conversion/) } });
    expect(await Conversion.countDocuments({ txid: 'SHARED-1' })).toBe(1);
  });

  test('pending then approved (then rejected) updates the conversion and notifies the publisher each time', async () => {
    const { sessionId } = await click();
    const send = (status: string) => postback({ click_id: sessionId, event: 'sale', txid: 'ST-1', amount: '20', status, token: f.token });
    expect((await send('pending')).status).toBe(202);
    await eventually(async () => (await Conversion.findOne({ sessionId }).lean())?.status === 'pending', 20_000, 'pending');
    expect((await send('approved')).status).toBe(202);
    await eventually(async () => (await Conversion.findOne({ sessionId }).lean())?.status === 'approved', 20_000, 'approved');
    expect((await send('declined')).status).toBe(202);
    await eventually(async () => (await Conversion.findOne({ sessionId }).lean())?.status === 'rejected', 20_000, 'rejected');
    const statuses = await eventually(() => {
      const got = sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === sessionId).map((r) => r.query.status);
      return got.length === 3 && got;
    }, 20_000, 'three publisher postbacks');
    expect(statuses.sort()).toEqual(['approved', 'pending', 'rejected']);
    expect(await Conversion.countDocuments({ sessionId })).toBe(1);
  });

  test('after the attribution window: 410 and nothing recorded; the session closes as expired', async () => {
    const short = await createFixture({ sinkUrl: sink.url, windowSec: 2 });
    const { sessionId } = await click(short);
    await eventually(async () => (await Session.findById(sessionId).lean())?.status === 'expired', 20_000, 'the session to expire');
    const res = await postback({ click_id: sessionId, event: 'sale', token: short.token });
    expect(res).toMatchObject({ status: 410, body: { error: expect.stringMatching(/window/) } });
    expect(await Conversion.countDocuments({ sessionId })).toBe(0);
    const desc = await app.temporal.client.workflow.getHandle(sessionId).describe();
    expect(desc.status.name).toBe('COMPLETED');
    // Expired in the Temporal UI is closed and not converted: the attribute is not upserted for it.
    expect(desc.typedSearchAttributes.getAll().find((p) => p.key.name === 'SessionStatus')?.value).toBe('open');
  });

  test('a session with a conversion closes as converted at the end of its window', async () => {
    const short = await createFixture({ sinkUrl: sink.url, windowSec: 3 });
    const { sessionId } = await click(short);
    expect((await postback({ click_id: sessionId, event: 'registration', token: short.token })).status).toBe(202);
    await eventually(async () => (await Session.findById(sessionId).lean())?.status === 'converted', 20_000, 'converted');
    expect(await app.temporal.client.workflow.getHandle(sessionId).result()).toEqual({ status: 'converted', conversions: 1 });
  });
});

describe('outbound postbacks', () => {
  test('a failing publisher endpoint is retried with backoff, delivered once, every attempt logged', async () => {
    const fx = await createFixture({ sinkUrl: sink.url });
    sink.failFirst.set(`/publisher/${fx.publisherId}`, 2);
    const { sessionId } = await click(fx);
    expect((await postback({ click_id: sessionId, event: 'registration', token: fx.token })).status).toBe(202);
    const attempts = await eventually(async () => {
      const d = await Delivery.find({ sessionId, target: 'publisher' }).sort({ attempt: 1 }).lean();
      return d.some((a) => a.outcome === 'delivered') && d;
    }, 30_000, 'the delivery to succeed');
    expect(attempts.map((a) => [a.attempt, a.outcome, a.statusCode])).toEqual([
      [1, 'failed', 500],
      [2, 'failed', 500],
      [3, 'delivered', 200],
    ]);
    expect(attempts[0]!.error).toBe('HTTP 500');
    expect(sink.received(`/publisher/${fx.publisherId}`).filter((r) => r.query.cid === sessionId)).toHaveLength(3);
    expect(attempts[2]!.at.getTime() - attempts[0]!.at.getTime()).toBeGreaterThanOrEqual(100 + 200);
  });

  test('an endpoint that never answers 2xx is given up after the maximum attempts, each logged', async () => {
    const fx = await createFixture({ sinkUrl: sink.url });
    sink.failFirst.set(`/publisher/${fx.publisherId}`, 1000);
    const { sessionId } = await click(fx);
    expect((await postback({ click_id: sessionId, event: 'registration', token: fx.token })).status).toBe(202);
    const attempts = await eventually(async () => {
      const d = await Delivery.find({ sessionId, target: 'publisher' }).sort({ attempt: 1 }).lean();
      return d.some((a) => a.outcome === 'given_up') && d;
    }, 30_000, 'the delivery to be given up');
    expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed', 'failed', 'given_up']);
    const child = app.temporal.client.workflow.getHandle(attempts[0]!.deliveryId);
    expect(await child.result()).toBe('given_up');
    // The session made the first attempt; the workflow it started then, with no parent, made the
    // other four, its start delayed by the first interval rather than waiting on a timer.
    expect((await child.describe()).parentExecution).toBeUndefined();
    const events = (await child.fetchHistory()).events ?? [];
    const started = events[0]!.workflowExecutionStartedEventAttributes!;
    expect(Number(started.firstWorkflowTaskBackoff?.nanos ?? 0) / 1e6 + Number(started.firstWorkflowTaskBackoff?.seconds ?? 0) * 1e3).toBe(100);
    expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(0);
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deliver')).toHaveLength(1);
    // The failure Temporal keeps in history names the URL without its query, where secrets live (audit I1).
    const failure = events.find((e) => e.activityTaskFailedEventAttributes)!.activityTaskFailedEventAttributes!.failure!;
    expect(failure.applicationFailureInfo).toMatchObject({ type: 'DeliveryFailed' });
    expect(failure.message).toMatch(/\/publisher\/[^?]+: HTTP 500$/);
    expect(failure.message).not.toContain(sessionId);
  });
});
