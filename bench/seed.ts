import { randomBytes } from 'node:crypto';
import { Advertiser } from '../src/persistence/models/advertiser';
import { Asset } from '../src/persistence/models/asset';
import { Campaign } from '../src/persistence/models/campaign';
import { Publisher } from '../src/persistence/models/publisher';
import { Support } from '../src/persistence/models/support';

// What the bench sends traffic to: one advertiser and publisher, and a campaign per phase so
// that each phase's counts (sessions, conversions, deliveries) can be read back exactly. The
// publisher's postback goes to the bench's local sink. No providers: one outbound postback per
// conversion keeps the ledger one-to-one.

export interface BenchFixture {
  advertiserId: string;
  publisherId: string;
  supportId: string;
  token: string;
  /** phase name → its campaign and asset */
  campaigns: Record<string, { campaignId: string; assetId: string }>;
}

export const LANDING_URL = 'https://shop.example/landing?cid={click_id}&pub={publisher_id}&s1={sub1}&c={country}&d={device}';

export async function seedFixture(sinkUrl: string, campaignNames: string[]): Promise<BenchFixture> {
  const run = randomBytes(3).toString('hex');
  const f: BenchFixture = {
    advertiserId: `adv-${run}`,
    publisherId: `pub-${run}`,
    supportId: `sup-${run}`,
    token: randomBytes(16).toString('hex'),
    campaigns: {},
  };
  await Advertiser.create({ _id: f.advertiserId, name: 'Bench advertiser', postbackToken: f.token });
  await Publisher.create({
    _id: f.publisherId,
    name: 'Bench publisher',
    postbackUrl: `${sinkUrl}/publisher/${f.publisherId}?cid={click_id}&cmp={campaign_id}&event={event}&txid={txid}&payout={payout}&cur={currency}&s1={sub1}`,
  });
  await Support.create({ _id: f.supportId, publisherId: f.publisherId, name: 'Bench site' });
  for (const name of campaignNames) {
    const campaignId = `cmp-${name}-${run}`;
    await Campaign.create({
      _id: campaignId,
      advertiserId: f.advertiserId,
      name,
      landingUrl: LANDING_URL,
      attributionWindowSec: 3600,
      events: [
        { name: 'registration', payout: { kind: 'fixed', value: 250 }, revenue: { kind: 'fixed', value: 400 }, currency: 'EUR' },
        { name: 'sale', payout: { kind: 'percent', value: 1000 }, revenue: { kind: 'percent', value: 2000 }, currency: 'EUR', repeatable: true },
      ],
    });
    const assetId = `asset-${name}-${run}`;
    await Asset.create({ _id: assetId, campaignId, name: 'Banner' });
    f.campaigns[name] = { campaignId, assetId };
  }
  return f;
}

/** The tracked link of a phase's campaign, as a publisher would place it. */
export function clickPath(f: BenchFixture, campaign: string, sub1: string): string {
  const c = f.campaigns[campaign];
  if (!c) throw new Error(`no campaign seeded for "${campaign}"`);
  return `/c/${c.campaignId}?pub=${f.publisherId}&asset=${c.assetId}&sup=${f.supportId}&sub1=${sub1}&utm_source=bench`;
}
