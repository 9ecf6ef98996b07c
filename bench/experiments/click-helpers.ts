// Microseconds per call of the click path's own helpers, in-process: `npx tsx bench/experiments/click-helpers.ts`.
// Run it in two checkouts to compare a change; the full bench cannot see a few microseconds per
// click through its run-to-run noise.
import { clickMacroValues, fillUrl } from '../../src/domain/macros';
import { collectPublisherData } from '../../src/domain/publisher-data';
import { clickCookies } from '../../src/http/tracking-cookies';

const CALLS = 200_000;

function time(name: string, f: () => unknown): void {
  for (let i = 0; i < CALLS / 10; i++) f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) f();
  console.log(`${name.padEnd(22)} ${(Number(process.hrtime.bigint() - t0) / CALLS / 1000).toFixed(2)} µs`);
}

const session = {
  sessionId: '019ae0a4-5f3b-7c2e-9a1b-3c4d5e6f7a8b',
  campaignId: 'cmp_1',
  advertiserId: 'adv_1',
  publisherId: 'pub_1',
  assetId: null,
  supportId: null,
  country: 'FR',
  device: { type: 'desktop' },
  deviceType: 'desktop',
  publisherData: { sub1: 'abc', sub2: 'x' },
};
const template = 'https://shop.example.com/landing?cid={click_id}&pub={publisher_id}&s1={sub1}';
const query = { pub: 'pub_1', sub1: 'abc', sub2: 'x' };
const values = clickMacroValues(session);

time('clickMacroValues', () => clickMacroValues(session));
time('fillUrl', () => fillUrl(template, values));
time('clickCookies', () => clickCookies(session.sessionId, session.campaignId, 2_592_000, false));
time('collectPublisherData', () => collectPublisherData(query, { maxParams: 20, maxLength: 256, exclude: ['pub', 'asset', 'sup'] }));
