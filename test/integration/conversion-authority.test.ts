import { conversions } from '../../src/persistence/models/conversion';
import { Advertiser } from '../../src/persistence/models/advertiser';
import { Campaign } from '../../src/persistence/models/campaign';
import { Conversion } from '../../src/persistence/models/conversion';
import { Inbound } from '../../src/persistence/models/inbound';
import { UNAUTHENTICATED } from '../../src/http/conversion-intake';
import { clientFor, type ApiClient } from '../support/api-client';
import { clickUrl, createFixture, type Fixture } from '../support/fixtures';
import { Worker } from '@temporalio/worker';
import { eventually, navigate, sharedStack, stopAll, testId, type TestApp } from '../support/harness';
import type { HttpSink } from '../support/http-sink';
import { startWithFixture } from '../support/app-with-sink';

// Conversions only from who may report them (issue #9 item 1; audit C1, H1, L1, L2, I1): each test
// sends the audit's own request where it gives one, and fails on 9eaf8f8.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
let op: ApiClient;
let adv: ApiClient;
let pub: ApiClient;

beforeAll(async () => {
  ({ app, sink, f } = await startWithFixture());
  op = await clientFor(app, 'operator');
  adv = await clientFor(app, 'advertiser', f.advertiserId);
  pub = await clientFor(app, 'publisher', f.publisherId);
});
afterAll(() => stopAll(app, sink));

async function click(fx: Fixture = f) {
  const res = await navigate(clickUrl(app.httpUrl!, fx));
  expect(res.status).toBe(302);
  const sessionId = new URL(res.headers.get('location')!).searchParams.get('cid')!;
  return { sessionId, cookie: res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
}

async function pixel(query: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${app.httpUrl}/px.gif?${new URLSearchParams(query)}`, { headers });
  expect([res.status, res.headers.get('content-type')]).toEqual([200, 'image/gif']);
  expect(res.headers.has('x-clicktrail-outcome')).toBe(false);
  expect(Buffer.from(await res.arrayBuffer()).subarray(0, 6).toString()).toBe('GIF89a');
}

async function postback(query: Record<string, string>, init: RequestInit = {}) {
  const res = await fetch(`${app.httpUrl}/postback?${new URLSearchParams(query)}`, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The inbound log entry of the pixel that carried this txid. */
const inboundOf = (txid: string) => eventually(() => Inbound.findOne({ 'params.txid': txid }).lean(), 10_000, `the inbound record of ${txid}`);
const conversionOf = (sessionId: string, txid: string) => eventually(() => Conversion.findOne({ sessionId, txid }).lean(), 20_000, `conversion ${txid}`);
const publisherStatuses = (fx: Fixture, sessionId: string) =>
  sink.received(`/publisher/${fx.publisherId}`).filter((r) => r.query.cid === sessionId).map((r) => r.query.status);

describe('the pixel cannot set or change a status (audit C1, H1)', () => {
  test('the forged pixel (status=approved, huge amount) is refused and logged, and still answers the GIF', async () => {
    const { sessionId } = await click();
    await pixel({ click_id: sessionId, event: 'sale', amount: '9999999999999.99', txid: 'FAKE-1', status: 'approved' });
    expect(await inboundOf('FAKE-1')).toMatchObject({ outcome: 'rejected', httpStatus: 400, reason: expect.stringMatching(/status a pixel cannot set a status/) });
    await pixel({ click_id: sessionId, event: 'sale', amount: '9999999999999.99', txid: 'FAKE-2' });
    expect(await inboundOf('FAKE-2')).toMatchObject({ outcome: 'rejected', httpStatus: 400, reason: expect.stringMatching(/amount is too large/) });
    expect(await Conversion.countDocuments({ sessionId })).toBe(0);
  });

  test('one more pixel hit does not re-approve what the postback rejected, by txid or by non-repeatable event', async () => {
    const { sessionId } = await click();
    expect((await postback({ click_id: sessionId, event: 'sale', txid: 'T-1', amount: '10', status: 'rejected', token: f.token })).status).toBe(202);
    expect((await postback({ click_id: sessionId, event: 'registration', status: 'rejected', token: f.token })).status).toBe(202);
    await eventually(async () => (await Conversion.countDocuments({ sessionId, status: 'rejected' })) === 2, 20_000, 'two rejected conversions');

    await pixel({ click_id: sessionId, event: 'sale', amount: '10.00', txid: 'T-1', status: 'approved' }); // the audit's request: refused at parse time
    await pixel({ click_id: sessionId, event: 'sale', amount: '10.00', txid: 'T-1' });
    await pixel({ click_id: sessionId, event: 'registration' });
    const view = await eventually(async () => {
      const v = await app.temporal.querySession(sessionId);
      return v && v.ignored.length === 2 && v;
    }, 20_000, 'both pixels ignored');
    expect(view.ignored.map((i) => i.reason)).toEqual(['transaction T-1 already counted; a pixel cannot change its status', 'event "registration" already counted for this session']);
    expect((await Conversion.find({ sessionId }).lean()).map((c) => c.status)).toEqual(['rejected', 'rejected']);
    expect(publisherStatuses(f, sessionId).every((s) => s === 'rejected')).toBe(true);
  });
});

test('txid squatting: the advertiser postback takes a pixel-claimed transaction id over, the squatter is rejected and told', async () => {
  const squatter = await click();
  const real = await click();
  await pixel({ click_id: squatter.sessionId, event: 'sale', txid: 'ORDER-50123', amount: '1' });
  const squatted = await conversionOf(squatter.sessionId, 'ORDER-50123');
  expect(squatted).toMatchObject({ source: 'pixel', status: 'approved' });

  expect((await postback({ click_id: real.sessionId, event: 'sale', txid: 'ORDER-50123', amount: '80', token: f.token })).status).toBe(202);
  const taken = await conversionOf(real.sessionId, 'ORDER-50123');
  expect(taken).toMatchObject({ source: 'postback', status: 'approved', amountMinor: 8000, payoutMinor: 800 });
  const loser = await Conversion.findById(squatted._id).lean();
  expect(loser).toMatchObject({ status: 'rejected', supersededBy: taken._id, statusDecidedBy: 'postback', statusReason: expect.stringMatching(/taken over by the advertiser's postback/) });
  // The real publisher is notified; the squatter's publisher hears that its conversion was rejected.
  await eventually(() => publisherStatuses(f, real.sessionId).includes('approved'), 20_000, 'the real publisher notified');
  await eventually(() => publisherStatuses(f, squatter.sessionId).includes('rejected'), 20_000, 'the squatter told of the rejection');
  const view = await eventually(async () => {
    const v = await app.temporal.querySession(squatter.sessionId);
    return v?.conversions[0]?.status === 'rejected' && v;
  }, 20_000, 'the squatter session to count it rejected');
  expect(view.conversions).toHaveLength(1);
  // A second authenticated postback with that txid is a plain duplicate again, told at once.
  const other = await click();
  const again = await postback({ click_id: other.sessionId, event: 'sale', txid: 'ORDER-50123', amount: '80', token: f.token });
  expect([again.status, again.body.outcome, again.body.reason]).toEqual([200, 'duplicate', `transaction ORDER-50123 already counted on conversion ${taken._id}`]);
});

describe('per advertiser pixel policy', () => {
  test('a pixel refused by policy (switched off, wrong Referer/Origin host, explicit click id) answers the GIF and the log says why', async () => {
    const pol = await createFixture({ sinkUrl: sink.url, pixel: { allowedHosts: ['shop.example', '*.shop.example'], cookieOnly: true } });
    const { sessionId, cookie } = await click(pol);
    await pixel({ click_id: sessionId, event: 'sale', amount: '10.00', txid: 'P-ID' }, { referer: 'https://shop.example/thanks' });
    await pixel({ campaign: pol.campaignId, event: 'sale', amount: '10.00', txid: 'P-EVIL' }, { cookie, referer: 'https://evil.example/thanks' });
    await pixel({ campaign: pol.campaignId, event: 'sale', amount: '10.00', txid: 'P-NONE' }, { cookie });
    await pixel({ campaign: pol.campaignId, event: 'sale', amount: '10.00', txid: 'P-OK' }, { cookie, origin: 'https://www.shop.example' });
    expect(await inboundOf('P-ID')).toMatchObject({ outcome: 'rejected', httpStatus: 403, reason: expect.stringMatching(/cookie only/) });
    expect(await inboundOf('P-EVIL')).toMatchObject({ outcome: 'rejected', httpStatus: 403, reason: 'page host "evil.example" is not on the advertiser\'s pixel hosts' });
    expect(await inboundOf('P-NONE')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/no Origin or Referer/) });
    expect(await inboundOf('P-OK')).toMatchObject({ outcome: 'accepted', httpStatus: 202 });
    await conversionOf(sessionId, 'P-OK');
    expect(await Conversion.countDocuments({ sessionId })).toBe(1);
  });

  test('the advertiser key switches its own pixel off through the API; a publisher key cannot', async () => {
    const fx = await createFixture({ sinkUrl: sink.url });
    const key = await clientFor(app, 'advertiser', fx.advertiserId);
    const changed = await key.patch(`/advertisers/${fx.advertiserId}`, { pixel: { enabled: false } });
    expect([changed.status, changed.body.pixel]).toEqual([200, { enabled: false, allowedHosts: [], cookieOnly: false }]);
    expect((await key.patch(`/advertisers/${fx.advertiserId}`, { pixel: { allowedHosts: ['https://x.example/'] } })).body.fields).toEqual([
      expect.objectContaining({ path: 'pixel.allowedHosts.0' }),
    ]);
    expect((await pub.patch(`/advertisers/${fx.advertiserId}`, { pixel: { enabled: true } })).status).toBe(403);
    const { sessionId } = await click(fx);
    // The click path caches advertisers for CONFIG_CACHE_TTL_MS: send until the switch is seen.
    let n = 0;
    const refused = await eventually(async () => {
      const txid = `OFF-${n++}`;
      await pixel({ click_id: sessionId, event: 'sale', amount: '10.00', txid });
      const doc = await inboundOf(txid);
      return doc.httpStatus === 403 && doc;
    }, 10_000, 'the pixel to be refused');
    expect(refused.reason).toBe('the pixel is switched off for this advertiser (postback only)');
    expect((await postback({ click_id: sessionId, event: 'sale', amount: '10.00', txid: 'OFF-PB', token: fx.token })).status).toBe(202);
  });
});

describe('money is the network\'s to set', () => {
  test('an advertiser key can neither set payout nor revenue (400 naming the field) nor see payouts; its events cost nothing until the operator sets them', async () => {
    const base = { name: 'Self-service', landingUrl: 'https://shop.example/?c={click_id}' };
    const ev = { name: 'sale', currency: 'EUR' };
    const withPayout = await adv.post('/campaigns', { ...base, events: [{ ...ev, payout: { kind: 'percent', value: 100000 } }] });
    expect([withPayout.status, withPayout.body.fields]).toEqual([400, [{ path: 'events.0.payout', message: 'is set by the network: only operator keys may set it' }]]);
    const withRevenue = await adv.post('/campaigns', { ...base, events: [ev, { ...ev, name: 'lead', revenue: { kind: 'fixed', value: 0 } }] });
    expect([withRevenue.status, withRevenue.body.fields.map((e: { path: string }) => e.path)]).toEqual([400, ['events.1.revenue']]);

    const created = await adv.post('/campaigns', { ...base, events: [ev] });
    expect(created.status).toBe(201);
    expect(created.body.events).toEqual([{ name: 'sale', currency: 'EUR', repeatable: false, maxAmountMinor: null, revenue: { kind: 'fixed', value: 0 } }]);
    expect(created.body.approvalMode).toBe('auto');
    const id = created.body.id as string;
    expect((await op.patch(`/campaigns/${id}`, { events: [{ ...ev, payout: { kind: 'fixed', value: 300 }, revenue: { kind: 'fixed', value: 500 } }] })).status).toBe(200);
    // The advertiser changes its event: the amounts the operator set stay.
    expect((await adv.patch(`/campaigns/${id}`, { events: [{ ...ev, repeatable: true }] })).status).toBe(200);
    expect((await adv.patch(`/campaigns/${id}`, { events: [{ ...ev, payout: { kind: 'fixed', value: 1 } }] })).status).toBe(400);
    expect((await op.get(`/campaigns/${id}`)).body.events).toEqual([
      { name: 'sale', currency: 'EUR', repeatable: true, maxAmountMinor: null, payout: { kind: 'fixed', value: 300 }, revenue: { kind: 'fixed', value: 500 } },
    ]);
    const seen = await adv.get(`/campaigns/${id}`);
    expect(seen.body.events[0]).not.toHaveProperty('payout');
    expect(seen.body.events[0].revenue).toEqual({ kind: 'fixed', value: 500 });
    expect(JSON.stringify((await adv.get('/campaigns')).body)).not.toContain('"payout"');
  });

  test('a percentage is at most 1000 %', async () => {
    const res = await op.post('/campaigns', { advertiserId: f.advertiserId, name: 'x', landingUrl: 'https://shop.example/', events: [{ name: 'sale', currency: 'EUR', payout: { kind: 'percent', value: 100001 } }] });
    expect([res.status, res.body.fields]).toEqual([400, [expect.objectContaining({ path: 'events.0.payout.value' })]]);
  });
});

test('amount limits: above the event\'s maxAmountMinor or the global cap the postback answers 400 naming amount, the pixel records the refusal', async () => {
  const capped = await createFixture({
    sinkUrl: sink.url,
    events: [{ name: 'sale', payout: { kind: 'percent', value: 1000 }, currency: 'EUR', repeatable: true, maxAmountMinor: 100_000 }],
  });
  const { sessionId } = await click(capped);
  const over = await postback({ click_id: sessionId, event: 'sale', txid: 'CAP-1', amount: '1000.01', token: capped.token });
  expect([over.status, over.body.fields]).toEqual([400, [{ path: 'amount', message: 'is above the largest amount event "sale" accepts (1000.00 EUR)' }]]);
  const huge = await postback({ click_id: sessionId, event: 'sale', txid: 'CAP-2', amount: '10000000000.01', token: capped.token });
  expect([huge.status, huge.body.fields]).toEqual([400, [{ path: 'amount', message: 'is too large: at most 10000000000.00 EUR' }]]);
  expect((await postback({ click_id: sessionId, event: 'sale', txid: 'CAP-3', amount: '1000.00', token: capped.token })).status).toBe(202);
  await pixel({ click_id: sessionId, event: 'sale', txid: 'CAP-PX', amount: '5000' });
  expect(await inboundOf('CAP-PX')).toMatchObject({ outcome: 'rejected', httpStatus: 400, reason: expect.stringMatching(/amount is above the largest amount/) });
  await conversionOf(sessionId, 'CAP-3');
  expect(await Conversion.countDocuments({ sessionId })).toBe(1);
});

describe('approval mode and POST /api/v1/conversions/{id}/status', () => {
  let man: Fixture;
  let manAdv: ApiClient;
  beforeAll(async () => {
    man = await createFixture({ sinkUrl: sink.url, approvalMode: 'manual' });
    manAdv = await clientFor(app, 'advertiser', man.advertiserId);
  });

  test('manual: pending until the advertiser approves; the publisher receives a second postback with status approved', async () => {
    const { sessionId, cookie } = await click(man);
    expect((await postback({ click_id: sessionId, event: 'sale', txid: 'M-1', amount: '50', token: man.token })).status).toBe(202);
    await pixel({ campaign: man.campaignId, event: 'sale', txid: 'M-PX', amount: '5' }, { cookie });
    const conv = await conversionOf(sessionId, 'M-1');
    expect(conv.status).toBe('pending');
    expect((await conversionOf(sessionId, 'M-PX')).status).toBe('pending');
    await eventually(() => publisherStatuses(man, sessionId).length === 2, 20_000, 'the pending notifications');
    expect(publisherStatuses(man, sessionId)).toEqual(['pending', 'pending']);

    expect((await pub.post(`/conversions/${conv._id}/status`, { status: 'approved', reason: 'x' })).status).toBe(403);
    expect((await adv.post(`/conversions/${conv._id}/status`, { status: 'approved', reason: 'x' })).status).toBe(404); // another advertiser's key
    expect((await manAdv.post(`/conversions/${conv._id}/status`, { status: 'approved' })).body.fields).toEqual([expect.objectContaining({ path: 'reason' })]);
    expect((await manAdv.post(`/conversions/${conv._id}/status`, { status: 'approved', reason: 'r'.repeat(501) })).status).toBe(400);
    expect((await manAdv.post(`/conversions/${conv._id}/status`, { status: 'pending', reason: 'x' })).status).toBe(400);

    const decided = await manAdv.post(`/conversions/${conv._id}/status`, { status: 'approved', reason: 'order shipped' });
    expect([decided.status, decided.body]).toEqual([202, expect.objectContaining({ status: 'accepted', conversion_id: conv._id, requested_status: 'approved', applied_by: 'session' })]);
    await eventually(() => publisherStatuses(man, sessionId).includes('approved'), 20_000, 'the approval postback');
    const pb = sink.received(`/publisher/${man.publisherId}`).find((r) => r.query.cid === sessionId && r.query.status === 'approved')!;
    expect(pb.query).toMatchObject({ txid: 'M-1', conv: conv._id, payout: '5.00' });
    expect(await Conversion.findById(conv._id).lean()).toMatchObject({ status: 'approved', statusReason: 'order shipped', statusDecidedBy: `advertiser:${man.advertiserId}` });
    expect((await manAdv.post(`/conversions/${conv._id}/status`, { status: 'approved', reason: 'again' })).status).toBe(409);
    // The publisher sees the status and why, not who decided.
    const asPublisher = await (await clientFor(app, 'publisher', man.publisherId)).get(`/conversions/${conv._id}`);
    expect(asPublisher.body).toMatchObject({ status: 'approved', statusReason: 'order shipped' });
    expect(asPublisher.body).not.toHaveProperty('statusDecidedBy');
  });

  test('the operator rejects with a reason; an explicit postback status still counts at once', async () => {
    const { sessionId } = await click(man);
    expect((await postback({ click_id: sessionId, event: 'sale', txid: 'M-2', amount: '20', token: man.token })).status).toBe(202);
    expect((await postback({ click_id: sessionId, event: 'sale', txid: 'M-3', amount: '20', status: 'approved', token: man.token })).status).toBe(202);
    expect((await conversionOf(sessionId, 'M-3')).status).toBe('approved');
    const conv = await conversionOf(sessionId, 'M-2');
    const decided = await op.post(`/conversions/${conv._id}/status`, { status: 'rejected', reason: 'fraudulent order' });
    expect(decided.status).toBe(202);
    const after = await eventually(async () => {
      const c = await Conversion.findById(conv._id).lean();
      return c?.status === 'rejected' && c;
    }, 20_000, 'the rejection');
    expect(after).toMatchObject({ statusReason: 'fraudulent order', statusDecidedBy: expect.stringMatching(/^operator:/) });
    await eventually(() => publisherStatuses(man, sessionId).includes('rejected'), 20_000, 'the rejection postback');
    // The pixel cannot overturn it.
    await pixel({ click_id: sessionId, event: 'sale', amount: '10.00', txid: 'M-2' });
    await eventually(async () => (await app.temporal.querySession(sessionId))?.ignored.length === 1, 20_000, 'the pixel ignored');
    expect((await Conversion.findById(conv._id).lean())?.status).toBe('rejected');
  });

  test('a decision after the session\'s window closed is applied by a workflow of its own and notifies the publisher', async () => {
    const short = await createFixture({ sinkUrl: sink.url, approvalMode: 'manual', windowSec: 3 });
    const { sessionId } = await click(short);
    expect((await postback({ click_id: sessionId, event: 'registration', token: short.token })).status).toBe(202);
    const conv = await eventually(() => Conversion.findOne({ sessionId }).lean(), 20_000, 'the conversion');
    expect(conv.status).toBe('pending');
    await app.temporal.client.workflow.getHandle(sessionId).result();
    const key = await clientFor(app, 'advertiser', short.advertiserId);
    const decided = await key.post(`/conversions/${conv._id}/status`, { status: 'approved', reason: 'late approval' });
    expect([decided.status, decided.body.applied_by]).toEqual([202, 'closed-session']);
    await eventually(() => publisherStatuses(short, sessionId).includes('approved'), 20_000, 'the approval postback');
    expect(await Conversion.findById(conv._id).lean()).toMatchObject({ status: 'approved', statusReason: 'late approval', statusDecidedBy: `advertiser:${short.advertiserId}` });
    expect(publisherStatuses(short, sessionId)).toEqual(['pending', 'approved']);
  });
});

describe('/postback before authentication (audit L1) and where the token may travel (L2, I1)', () => {
  test('unknown click id, a click of another campaign, a wrong token and a disallowed IP all get the same 401', async () => {
    const other = await createFixture({ sinkUrl: sink.url });
    const locked = await createFixture({ sinkUrl: sink.url, ipAllowlist: ['10.9.9.0/24'] });
    const { sessionId } = await click();
    const { sessionId: lockedSession } = await click(locked);
    const answers = [
      await postback({ click_id: '01234567-89ab-7def-8123-456789abcdef', event: 'sale', amount: '10.00' }),
      await postback({ click_id: '01234567-89ab-7def-8123-456789abcdef', event: 'sale', amount: '10.00', token: f.token }),
      await postback({ click_id: sessionId, event: 'sale', amount: '10.00', campaign: other.campaignId }),
      await postback({ click_id: sessionId, event: 'sale', amount: '10.00', campaign: other.campaignId, token: f.token }),
      await postback({ click_id: sessionId, event: 'sale', amount: '10.00', token: 'wrong' }),
      await postback({ click_id: lockedSession, event: 'sale', amount: '10.00', token: locked.token }),
      await postback({ click_id: lockedSession, event: 'sale', amount: '10.00', token: 'wrong' }),
    ];
    for (const a of answers) expect([a.status, a.body.error, Object.keys(a.body).sort()]).toEqual([401, UNAUTHENTICATED, ['error', 'fields', 'request_id']]);
    expect(await Conversion.countDocuments({ sessionId: { $in: [sessionId, lockedSession] } })).toBe(0);
  });

  test('the token in X-Clicktrail-Token, Authorization: Bearer or a JSON body; never in the inbound log', async () => {
    const { sessionId } = await click();
    const viaHeader = await postback({ click_id: sessionId, event: 'sale', amount: '10.00', txid: 'H-1' }, { headers: { 'X-Clicktrail-Token': f.token } });
    const viaBearer = await postback({ click_id: sessionId, event: 'sale', amount: '10.00', txid: 'H-2' }, { headers: { authorization: `Bearer ${f.token}` } });
    const json = await fetch(`${app.httpUrl}/postback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"__proto__":{"token":"x"},"click_id":"${sessionId}","event":"sale","amount":"10.00","txid":"H-3","token":"${f.token}"}`,
    });
    expect([viaHeader.status, viaBearer.status, json.status]).toEqual([202, 202, 202]);
    const differ = await postback({ click_id: sessionId, event: 'sale', amount: '10.00', txid: 'H-4', token: f.token }, { headers: { 'X-Clicktrail-Token': 'other' } });
    expect(differ.status).toBe(401);
    await eventually(async () => (await Conversion.countDocuments({ sessionId })) === 3, 20_000, 'three conversions');
    const logged = await Inbound.find({ sessionId }).lean();
    expect(JSON.stringify(logged)).not.toContain(f.token);
  });
});

test('a report cannot answer 500 whatever the sums: totals past 2^53 format exactly', async () => {
  const big = await createFixture({ sinkUrl: sink.url });
  const now = new Date();
  // What tracking before the caps could store (the audit's ~10^15 forged payouts), straight into the database.
  await conversions().insertMany(
    [1, 2, 3].map((i) => ({
      _id: testId('conv'), sessionId: testId('s'), advertiserId: big.advertiserId, campaignId: big.campaignId, publisherId: big.publisherId,
      assetId: null, supportId: null, country: null, deviceType: 'desktop', bot: false, event: 'sale', txid: `BIG-${i}`, txidKey: `BIG-${i}`,
      amountMinor: 9_999_999_999_999_99, amountCurrency: 'EUR', currency: 'EUR', payoutMinor: 4e15, revenueMinor: 4e15 + 2, status: 'approved' as const,
      source: 'pixel' as const, createdAt: now, updatedAt: now,
    })),
  );
  const range = `from=${new Date(now.getTime() - 86_400_000).toISOString()}&to=${new Date(now.getTime() + 86_400_000).toISOString()}`;
  const asOperator = await op.get(`/reports?group_by=campaign&campaign=${big.campaignId}&${range}`);
  expect(asOperator.status).toBe(200);
  expect(asOperator.body.rows[0].money[0]).toMatchObject({ currency: 'EUR', payout: '120000000000000.00', revenue: '120000000000000.06', profit: '0.06' });
  const key = await clientFor(app, 'advertiser', big.advertiserId);
  const asAdvertiser = await key.get(`/reports?group_by=campaign&${range}&format=csv`);
  expect(asAdvertiser.status).toBe(200);
  expect(asAdvertiser.text).toContain('120000000000000.06');
});

test('defaults: campaigns approve at once, advertisers have an open pixel', async () => {
  expect((await Campaign.findById(f.campaignId).lean())?.approvalMode).toBe('auto');
  expect((await Advertiser.findById(f.advertiserId).lean())?.pixel).toEqual({ enabled: true, allowedHosts: [], cookieOnly: false });
});

test('the new workflow paths replay: pixel repeat, API decision, takeover from a closed squatter session', async () => {
  const fx = await createFixture({ sinkUrl: sink.url, approvalMode: 'manual', windowSec: 5 });
  const squatter = await click(fx);
  await pixel({ click_id: squatter.sessionId, event: 'sale', txid: 'R-1', amount: '1' });
  await conversionOf(squatter.sessionId, 'R-1');
  await app.temporal.client.workflow.getHandle(squatter.sessionId).result();

  // The squatter's session has closed: the takeover still happens, its stored copy says so.
  const { sessionId } = await click(fx);
  expect((await postback({ click_id: sessionId, event: 'sale', txid: 'R-1', amount: '30', token: fx.token })).status).toBe(202);
  const taken = await conversionOf(sessionId, 'R-1');
  expect(taken.status).toBe('pending');
  expect(await Conversion.findOne({ sessionId: squatter.sessionId }).lean()).toMatchObject({ status: 'rejected', supersededBy: taken._id });
  await pixel({ click_id: sessionId, event: 'sale', amount: '10.00', txid: 'R-1' });
  const key = await clientFor(app, 'advertiser', fx.advertiserId);
  const decided = await key.post(`/conversions/${taken._id}/status`, { status: 'approved', reason: 'paid' });
  expect([decided.status, decided.body.applied_by]).toEqual([202, 'session']);
  await eventually(async () => (await Conversion.findById(taken._id).lean())?.status === 'approved', 20_000, 'the approval');
  expect(await app.temporal.client.workflow.getHandle(sessionId).result()).toEqual({ status: 'converted', conversions: 1 });
  for (const id of [sessionId, squatter.sessionId]) {
    const history = await app.temporal.client.workflow.getHandle(id).fetchHistory();
    await expect(Worker.runReplayHistory({ workflowBundle: sharedStack().workflowBundle }, history)).resolves.toBeUndefined();
  }
});
