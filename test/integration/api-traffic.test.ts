import { v7 as uuidv7 } from 'uuid';
import { createFixture, type Fixture } from '../support/fixtures';
import type { HttpSink } from '../support/http-sink';
import { startWithFixture } from '../support/app-with-sink';
import { eventually, get, stopAll, testId, type TestApp } from '../support/harness';
import { clientFor, type ApiClient } from '../support/api-client';
import { sessionRecord, sessions } from '../../src/persistence/models/session';
import { sessionOf } from '../support/stored-session';

// The API around real traffic: a publisher fetches its tracked link and clicks it, the advertiser
// posts a conversion back with the URL the API gave it, the publisher's endpoint fails until the
// delivery gives up, and a re-send through the API reaches it.

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
let allowlisted: Fixture;
let op: ApiClient;
let pub: ApiClient;
let otherPub: ApiClient;
let adv: ApiClient;
let sessionId: string;
let conversionId: string;

beforeAll(async () => {
  ({ app, sink, f } = await startWithFixture({ PUBLIC_BASE_URL: 'https://track.example' }));
  allowlisted = await createFixture({ sinkUrl: sink.url, publisherAccess: 'allowlist' });
  op = await clientFor(app, 'operator');
  pub = await clientFor(app, 'publisher', f.publisherId);
  otherPub = await clientFor(app, 'publisher', f.otherPublisherId);
  adv = await clientFor(app, 'advertiser', f.advertiserId);
});
afterAll(() => stopAll(app, sink));

describe('tracked links', () => {
  test('a publisher gets its ready click URL, with asset, support and sub parameters', async () => {
    const res = await pub.get(`/links?campaign=${f.campaignId}&asset=${f.assetId}&support=${f.supportId}&sub1=a%20b&sub3=x`);
    expect(res.status).toBe(200);
    expect(res.body.url).toBe(`https://track.example/c/${f.campaignId}?pub=${f.publisherId}&asset=${f.assetId}&sup=${f.supportId}&sub1=a+b&sub3=x`);
  });

  test('a link is refused for a campaign the publisher may not run, and for assets and supports that are not its', async () => {
    expect((await otherPub.get(`/links?campaign=${allowlisted.campaignId}`)).status).toBe(404);
    const opRes = await op.get(`/links?campaign=${allowlisted.campaignId}&publisher=${allowlisted.otherPublisherId}`);
    expect(opRes.status).toBe(422);
    expect(opRes.body.fields).toEqual([{ path: 'publisher', message: expect.stringMatching(/allowlist/) }]);
    expect((await pub.get(`/links?campaign=${f.campaignId}&asset=${allowlisted.assetId}`)).body.fields[0].path).toBe('asset');
    expect((await otherPub.get(`/links?campaign=${f.campaignId}&support=${f.supportId}`)).body.fields[0].path).toBe('support');
    expect((await pub.get(`/links?campaign=${f.campaignId}&publisher=${f.otherPublisherId}`)).status).toBe(403);
    expect((await pub.get(`/links?campaign=${f.campaignId}&sub11=x`)).body.fields[0].path).toBe('sub11');
  });

  test("an advertiser gets its pixel and postback URLs, the postback with its token; another advertiser's are 404", async () => {
    const res = await adv.get(`/advertisers/${f.advertiserId}/tracking`);
    expect(res.status).toBe(200);
    expect(res.body.postback).toBe(`https://track.example/postback?event={event}&click_id={click_id}&txid={txid}&amount={amount}&currency={currency}&status={status}&token=${f.token}`);
    expect(res.body.pixel.gif).toMatch(new RegExp(`^https://track.example/px.gif\\?adv=${f.advertiserId}&`));
    expect(res.body.campaigns.map((c: { id: string; events: string[] }) => [c.id, c.events])).toEqual([[f.campaignId, ['registration', 'sale']]]);
    expect((await adv.get(`/advertisers/${allowlisted.advertiserId}/tracking`)).status).toBe(404);
    expect((await pub.get(`/advertisers/${f.advertiserId}/tracking`)).status).toBe(403);
  });
});

describe('sessions, conversions and deliveries', () => {
  beforeAll(async () => {
    const link = (await pub.get(`/links?campaign=${f.campaignId}&asset=${f.assetId}&support=${f.supportId}&sub1=s1`)).body.url as string;
    const click = await get(link.replace('https://track.example', app.httpUrl!));
    expect(click.status).toBe(302);
    sessionId = new URL(click.headers.get('location')!).searchParams.get('cid')!;

    sink.failFirst.set(`/publisher/${f.publisherId}`, 5); // every attempt the test config allows
    const tracking = (await adv.get(`/advertisers/${f.advertiserId}/tracking`)).body;
    const postback = (tracking.postback as string)
      .replace('https://track.example', app.httpUrl!)
      .replace('{event}', 'sale').replace('{click_id}', sessionId).replace('{txid}', 'T-42')
      .replace('{amount}', '80.00').replace('{currency}', 'EUR').replace('{status}', 'approved');
    expect((await fetch(postback)).status).toBe(202);
    const conv = await eventually(async () => (await op.get(`/conversions?session=${sessionId}`)).body.data[0], 20_000, 'the conversion');
    conversionId = conv.id;
    // The workflow's own state catches up once its recordConversion activity has returned.
    await eventually(async () => (await app.temporal.querySession(sessionId))?.conversions.length === 1, 20_000, 'the workflow state');
  });

  test('one session: stored fields, conversions and the live workflow state', async () => {
    const res = await op.get(`/sessions/${sessionId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: sessionId, campaignId: f.campaignId, publisherId: f.publisherId, assetId: f.assetId, supportId: f.supportId, publisherData: { sub1: 's1' } });
    expect(res.body.conversions).toEqual([expect.objectContaining({ id: conversionId, event: 'sale', txid: 'T-42', payoutMinor: 800, revenueMinor: 1600 })]);
    expect(res.body.workflowState).toBe('running');
    expect(res.body.workflow).toMatchObject({ sessionId, status: 'converted', conversions: [expect.objectContaining({ conversionId, event: 'sale' })] });
  });

  test('sessions and conversions are scoped: the publisher and advertiser see theirs, others get 404 and empty lists', async () => {
    expect((await pub.get(`/sessions/${sessionId}`)).status).toBe(200);
    expect((await adv.get(`/sessions/${sessionId}`)).status).toBe(200);
    expect((await otherPub.get(`/sessions/${sessionId}`)).status).toBe(404);
    expect((await otherPub.get(`/conversions/${conversionId}`)).status).toBe(404);
    const stranger = await clientFor(app, 'advertiser', allowlisted.advertiserId);
    expect((await stranger.get(`/sessions/${sessionId}`)).status).toBe(404);
    expect((await stranger.get(`/sessions?campaign=${f.campaignId}`)).body.data).toEqual([]);
    expect((await otherPub.get(`/conversions?campaign=${f.campaignId}`)).body.data).toEqual([]);
    // The stored status turns converted when the first conversion counts, before the window closes.
    expect((await pub.get(`/sessions?campaign=${f.campaignId}&status=converted`)).body.data.map((s: { id: string }) => s.id)).toEqual([sessionId]);
    expect((await pub.get(`/sessions?campaign=${f.campaignId}&status=open`)).body.data).toEqual([]);
    const asPub = (await pub.get(`/conversions/${conversionId}`)).body;
    const asAdv = (await adv.get(`/conversions/${conversionId}`)).body;
    expect([asPub.payoutMinor, asPub.revenueMinor]).toEqual([800, undefined]);
    expect([asAdv.payoutMinor, asAdv.revenueMinor]).toEqual([undefined, 1600]);
    const advSession = (await adv.get(`/sessions/${sessionId}`)).body;
    expect(advSession.workflow.conversions[0]).toMatchObject({ conversionId, event: 'sale' });
    expect(JSON.stringify(advSession)).not.toContain('payoutMinor');
    expect((await op.get('/sessions?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z')).body.data).toEqual([]);
    expect((await op.get('/sessions?from=last-week')).body.fields[0].path).toBe('from');
  });

  test("an advertiser's sessions are its campaigns' (sessions have no advertiser index): every campaign, archived ones included, and no one else's", async () => {
    // A second campaign of the same advertiser, clicked, then archived; one click on another advertiser's.
    const second = testId('cmp-second');
    expect((await op.post('/campaigns', { id: second, advertiserId: f.advertiserId, name: 'Second', landingUrl: 'https://shop.example/two?cid={click_id}' })).status).toBe(201);
    const clickOn = async (campaignId: string, publisherId: string) => {
      const res = await get(app.url(`/c/${campaignId}?pub=${publisherId}`));
      expect(res.status).toBe(302);
      return new URL(res.headers.get('location')!).searchParams.get('cid')!;
    };
    const onSecond = await clickOn(second, f.publisherId);
    const elsewhere = await clickOn(allowlisted.campaignId, allowlisted.publisherId);
    expect((await op.patch(`/campaigns/${second}`, { status: 'archived' })).status).toBe(200);
    // A campaign's advertiser cannot change: its sessions stay its advertiser's.
    const moved = await op.patch(`/campaigns/${second}`, { advertiserId: allowlisted.advertiserId });
    expect([moved.status, JSON.stringify(moved.body)]).toEqual([400, expect.stringContaining('advertiserId')]);
    const ids = (res: { body: { data: { id: string }[] } }) => res.body.data.map((s) => s.id);
    const mine = ids(await adv.get('/sessions?limit=200'));
    expect(mine).toEqual(expect.arrayContaining([sessionId, onSecond]));
    expect(mine).not.toContain(elsewhere);
    expect(mine).toEqual([...mine].sort());
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString();
    expect(ids(await adv.get(`/sessions?from=${day(-1)}&to=${day(1)}&limit=200`))).toEqual(mine);
    expect(ids(await adv.get(`/sessions?campaign=${second}`))).toEqual([onSecond]);
    expect(ids(await adv.get(`/sessions?campaign=${allowlisted.campaignId}`))).toEqual([]);
    // One at a time: the cursor pages through the campaigns' sessions in id order.
    const paged: string[] = [];
    for (let cursor = ''; paged.length <= mine.length; ) {
      const page = await adv.get(`/sessions?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...ids(page));
      if (!page.body.next_cursor) break;
      cursor = encodeURIComponent(page.body.next_cursor);
    }
    expect(paged).toEqual(mine);
    expect(ids(await op.get(`/sessions?advertiser=${f.advertiserId}&limit=200`))).toEqual(mine);
    expect(ids(await op.get(`/sessions?advertiser=${allowlisted.advertiserId}&limit=200`))).toContain(elsewhere);
    expect(ids(await op.get(`/sessions?advertiser=${allowlisted.advertiserId}&campaign=${second}`))).toEqual([]);
    // An advertiser without campaigns has no sessions.
    const lone = testId('adv-lone');
    expect((await op.post('/advertisers', { id: lone, name: 'Lone' })).status).toBe(201);
    expect(ids(await (await clientFor(app, 'advertiser', lone)).get('/sessions'))).toEqual([]);
    expect(ids(await op.get(`/sessions?advertiser=${lone}`))).toEqual([]);
    // Its report counts the clicks of both campaigns, and none of another advertiser's.
    const report = await adv.get(`/reports?from=${day(-1).slice(0, 10)}&to=${day(2).slice(0, 10)}&group_by=campaign`);
    expect(report.status).toBe(200);
    // The test's requests carry no browser user agent: bot clicks, counted apart.
    const clicks = Object.fromEntries(report.body.rows.map((r: { campaign: string; clicks: number; bot_clicks: number }) => [r.campaign, r.clicks + r.bot_clicks]));
    expect(Object.keys(clicks).sort()).toEqual([f.campaignId, second].sort());
    expect(clicks[second]).toBe(1);
  });

  test('a given-up delivery lists every attempt, and a re-send reaches the publisher', async () => {
    const path = `/deliveries?conversion=${conversionId}&target=publisher`;
    const given = await eventually(async () => {
      const d = (await op.get(path)).body.data[0];
      return d?.outcome === 'given_up' && d;
    }, 30_000, 'the publisher delivery to give up');
    expect(given.attempts.map((a: { attempt: number; statusCode: number; outcome: string }) => [a.attempt, a.statusCode, a.outcome])).toEqual([
      [1, 500, 'failed'], [2, 500, 'failed'], [3, 500, 'failed'], [4, 500, 'failed'], [5, 500, 'given_up'],
    ]);
    const before = sink.received(`/publisher/${f.publisherId}`).length;
    // The last attempt is logged just before its workflow returns; until then a re-send is refused (409, still retried).
    await eventually(async () => (await app.temporal.deliveryState(given.deliveryId)) === 'closed', 20_000, 'the given-up delivery workflow to close');

    expect((await otherPub.post(`/deliveries/${given.deliveryId}/resend`)).status).toBe(404);
    expect((await adv.post(`/deliveries/${given.deliveryId}/resend`)).status).toBe(403);
    const resent = await pub.post(`/deliveries/${given.deliveryId}/resend`);
    expect(resent.status).toBe(202);
    expect(resent.body).toMatchObject({ deliveryId: `${given.deliveryId}-resend-1`, resendOf: given.deliveryId });

    await eventually(() => sink.received(`/publisher/${f.publisherId}`).length > before, 20_000, 'the re-sent postback');
    const last = sink.received(`/publisher/${f.publisherId}`).at(-1)!;
    expect(last.query).toMatchObject({ cid: sessionId, event: 'sale', txid: 'T-42', payout: '8.00', conv: conversionId });
    const all = await eventually(async () => {
      const list = (await pub.get(path)).body.data as { deliveryId: string; outcome: string }[];
      return list.some((d) => d.outcome === 'delivered') && list;
    }, 20_000, 'the re-send recorded as delivered');
    expect(all.map((d) => [d.deliveryId, d.outcome])).toEqual([
      [given.deliveryId, 'given_up'],
      [`${given.deliveryId}-resend-1`, 'delivered'],
    ]);
    // Delivered once is enough: neither the original nor the re-send can be sent again.
    expect((await op.post(`/deliveries/${given.deliveryId}/resend`)).status).toBe(409);
    expect((await op.post(`/deliveries/${given.deliveryId}-resend-1/resend`)).status).toBe(409);
  });

  test('deliveries are a publisher’s own: another publisher sees none of them', async () => {
    expect((await otherPub.get(`/deliveries?conversion=${conversionId}`)).body.data).toEqual([]);
    const providers = (await op.get(`/deliveries?conversion=${conversionId}&target=provider`)).body.data;
    expect(providers).toHaveLength(3);
    expect((await pub.get(`/deliveries?conversion=${conversionId}&target=provider`)).body.data).toEqual([]);
  });

  test('from/to select sessions by the time their id was made, from included and to excluded, for every key and across pages', async () => {
    const t = Date.UTC(2021, 5, 1, 12);
    const made = [t - 1, t, t + 1, t + 59_999, t + 60_000].map((ms) => ({ ...sessionOf(f, 3_600_000), sessionId: uuidv7({ msecs: ms }), createdAtMs: ms, expiresAtMs: ms + 3_600_000 }));
    await sessions().insertMany(made.map((s) => sessionRecord(s, true)));
    const inside = made.slice(1, 4);
    const range = `from=${new Date(t).toISOString()}&to=${new Date(t + 60_000).toISOString()}`;
    const list = async (c: ApiClient, q: string) => (await c.get(`/sessions?${q}`)).body as { data: { id: string; createdAt: string }[]; next_cursor: string | null };
    const ids = async (c: ApiClient, q: string) => (await list(c, q)).data.map((x) => x.id);
    expect((await list(op, range)).data.map((x) => [x.id, x.createdAt])).toEqual(inside.map((x) => [x.sessionId, new Date(x.createdAtMs).toISOString()]));
    for (const [c, q] of [[op, `&campaign=${f.campaignId}`], [op, `&publisher=${f.publisherId}`], [pub, ''], [adv, '']] as const) expect(await ids(c, range + q)).toEqual(inside.map((x) => x.sessionId));
    expect(await ids(otherPub, range)).toEqual([]);
    expect(await ids(op, `from=${new Date(t + 60_000).toISOString()}&to=${new Date(t + 60_001).toISOString()}`)).toEqual([made[4]!.sessionId]);
    // One a page: the cursor and the range bound the same id together.
    const paged: string[] = [];
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page = await list(pub, `${range}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...page.data.map((x) => x.id));
      cursor = page.next_cursor;
    }
    expect(paged).toEqual(inside.map((x) => x.sessionId));
    await sessions().deleteMany({ _id: { $in: made.map((x) => x.sessionId) } });
  });

  test('a stored session whose workflow has not started (a lazy one) says pending, without asking Temporal', async () => {
    const lazy = sessionOf(f, 3_600_000);
    await sessions().insertOne(sessionRecord(lazy, 'lazy'));
    const res = await op.get(`/sessions/${lazy.sessionId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: lazy.sessionId, workflowState: 'pending', workflow: null });
  });
});
