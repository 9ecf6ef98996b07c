import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Conversion } from '../../src/persistence/models/conversion';
import { Inbound } from '../../src/persistence/models/inbound';
import { Provider } from '../../src/persistence/models/provider';
import { Publisher } from '../../src/persistence/models/publisher';
import { createFixture, type Fixture } from '../support/fixtures';
import { eventually, startTestApp, testId, type TestApp } from '../support/harness';

// Debian's Chromium in its default settings, as a visitor: the tracker on one site, the
// advertiser's landing and confirmation pages on another (tracker.test and shop.test, both mapped
// to loopback). With the first-party script the click is attributed with no clicktrail cookie at
// all; with the plain cookie pixel it is refused because the cookie never reaches clicktrail
// (docs/tracking.md, "When the cookie pixel cannot work"). A failing test leaves a screenshot in
// test-results/.

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.join(__dirname, '..', '..', 'test-results');

let app: TestApp;
let shop: http.Server;
let tracker: string;
let shopUrl: string;
let withScript: Fixture;
let plain: Fixture;

/** The advertiser's site: landing and confirmation pages, with the script or with the plain pixel. */
function shopPages(req: http.IncomingMessage, res: http.ServerResponse): void {
  const u = new URL(req.url ?? '/', 'http://shop.test');
  const campaign = u.searchParams.get('campaign') ?? '';
  const txid = u.searchParams.get('txid') ?? '';
  const pages: Record<string, string> = {
    '/landing': `<script src="${tracker}/t.js"></script><h1>Landing</h1>`,
    '/thanks': `<script src="${tracker}/t.js"></script><h1>Thanks</h1>
<script>clicktrail('convert', { campaign: ${JSON.stringify(campaign)}, event: 'sale', txid: ${JSON.stringify(txid)}, amount: '49.90', currency: 'EUR' }).id = 'pixel';</script>`,
    '/plain/landing': '<h1>Landing</h1>',
    '/plain/thanks': `<h1>Thanks</h1><img id="pixel" src="${tracker}/px.gif?campaign=${encodeURIComponent(campaign)}&event=sale&txid=${encodeURIComponent(txid)}&amount=49.90&currency=EUR" width="1" height="1" alt="">`,
  };
  const page = pages[u.pathname];
  res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><meta charset="utf-8"><title>shop</title>${page ?? 'not found'}`);
}

async function quietFixture(landingPath: string): Promise<Fixture> {
  const fx = await createFixture({ sinkUrl: 'http://127.0.0.1:9', landingUrl: `${shopUrl}${landingPath}?click_id={click_id}` });
  await Publisher.updateMany({ _id: { $in: [fx.publisherId, fx.otherPublisherId] } }, { $set: { postbackUrl: null } });
  await Provider.updateMany({ _id: { $in: [fx.campaignProviderId, fx.publisherProviderId, fx.businessProviderId] } }, { $set: { notificationUrl: null } });
  return fx;
}

beforeAll(async () => {
  app = await startTestApp();
  shop = http.createServer(shopPages);
  await new Promise<void>((r) => shop.listen(0, '127.0.0.1', r));
  tracker = `http://tracker.test:${new URL(app.httpUrl!).port}`;
  shopUrl = `http://shop.test:${(shop.address() as AddressInfo).port}`;
  withScript = await quietFixture('/landing');
  plain = await quietFixture('/plain/landing');
});
afterAll(async () => {
  shop?.closeAllConnections();
  await new Promise((r) => shop?.close(r));
  await app?.stop();
});

/** A fresh browser profile, every name resolved to loopback and no proxy: nothing leaves the machine. */
async function inBrowser(name: string, run: (ctx: BrowserContext, page: Page) => Promise<void>): Promise<void> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'clicktrail-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-proxy-server', '--host-resolver-rules=MAP * 127.0.0.1',
    ],
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  try {
    await run(ctx, page);
  } catch (err) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, `browser-${name}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    throw new Error(`${(err as Error).message}\n(screenshot: ${file}, page: ${page.url()})`, { cause: err });
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Follows the tracked link like a visitor; returns the click id the landing page received. */
async function clickThrough(page: Page, f: Fixture): Promise<string> {
  await page.goto(`${tracker}/c/${f.campaignId}?pub=${f.publisherId}&asset=${f.assetId}&sup=${f.supportId}`);
  const landed = new URL(page.url());
  expect(landed.origin).toBe(shopUrl);
  return landed.searchParams.get('click_id')!;
}

test('the two hosts are two sites to Chromium: the tracker\'s cookie goes with its own pages\' requests, not the shop\'s', async () => {
  await inBrowser('sites', async (ctx, page) => {
    await clickThrough(page, plain);
    expect((await ctx.cookies(tracker)).find((c) => c.name === 'ct_sid')).toMatchObject({ sameSite: 'Lax', domain: 'tracker.test' });
    const pixel = `${tracker}/px.gif?campaign=${plain.campaignId}&event=none`;
    const cookieSentFrom = async (pageUrl: string) => {
      await page.goto(pageUrl);
      const [req] = await Promise.all([page.waitForRequest((r) => r.url() === pixel), page.evaluate(`void (new Image().src = ${JSON.stringify(pixel)})`)]);
      return (await req.allHeaders()).cookie;
    };
    expect(await cookieSentFrom(`${tracker}/healthz`)).toMatch(/ct_sid=/);
    expect(await cookieSentFrom(`${shopUrl}/plain/landing`)).toBeUndefined();
  });
});

test('first-party script: click on the tracker, land and convert on the shop, attributed without any clicktrail cookie', async () => {
  const txid = testId('browser');
  await inBrowser('script', async (ctx, page) => {
    const clickId = await clickThrough(page, withScript);
    expect(clickId).toMatch(/^[0-9a-f-]{36}$/);
    // Kept on the shop's own site by the script.
    expect(await page.evaluate('[document.cookie, localStorage.getItem("ct_click_id")]')).toEqual([`ct_click_id=${clickId}`, clickId]);
    // Without clicktrail's own cookies: whatever attributes the conversion, it is not them.
    await ctx.clearCookies({ domain: 'tracker.test' });

    await page.goto(`${shopUrl}/thanks?campaign=${withScript.campaignId}&txid=${txid}`);
    const conv = await eventually(() => Conversion.findOne({ txid }).lean(), 20_000, 'the conversion');
    expect(conv).toMatchObject({ sessionId: clickId, campaignId: withScript.campaignId, event: 'sale', amountMinor: 4990, payoutMinor: 499, source: 'pixel' });
    expect(await page.evaluate('clicktrail("click_id")')).toBe(clickId);
  });
});

test('plain cookie pixel across sites: refused, because no clicktrail cookie reaches clicktrail', async () => {
  const txid = testId('browser-plain');
  await inBrowser('plain-pixel', async (ctx, page) => {
    const clickId = await clickThrough(page, plain);
    expect((await ctx.cookies(tracker)).map((c) => c.name)).toEqual(expect.arrayContaining(['ct_sid', `ct_c_${plain.campaignId}`]));

    await page.goto(`${shopUrl}/plain/thanks?campaign=${plain.campaignId}&txid=${txid}`);
    expect(await page.evaluate('document.getElementById("pixel").naturalWidth')).toBe(1);
    const inbound = await eventually(() => Inbound.findOne({ source: 'pixel', 'params.txid': txid }).lean(), 20_000, 'the pixel request');
    expect(inbound).toMatchObject({ outcome: 'rejected', httpStatus: 400, sessionId: null });
    expect(inbound.reason).toMatch(/click_id is required .*or a clicktrail cookie/);
    expect(await Conversion.countDocuments({ sessionId: clickId })).toBe(0);
  });
});
