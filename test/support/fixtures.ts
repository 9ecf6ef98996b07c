import { v7 as uuidv7 } from 'uuid';
import { Advertiser } from '../../src/persistence/models/advertiser';
import { Asset } from '../../src/persistence/models/asset';
import { Campaign } from '../../src/persistence/models/campaign';
import { Provider } from '../../src/persistence/models/provider';
import { Publisher } from '../../src/persistence/models/publisher';
import { sessionRecord, sessions } from '../../src/persistence/models/session';
import { Support } from '../../src/persistence/models/support';
import { testId } from './harness';

export interface FixtureOptions {
  sinkUrl: string;
  windowSec?: number;
  status?: 'active' | 'paused';
  fallbackUrl?: string | null;
  publisherAccess?: 'all' | 'allowlist';
  ipAllowlist?: string[];
  events?: { name: string; payout: { kind: 'fixed' | 'percent'; value: number }; revenue?: { kind: 'fixed' | 'percent'; value: number }; currency: string; repeatable?: boolean; maxAmountMinor?: number | null }[];
  landingUrl?: string;
  approvalMode?: 'auto' | 'manual';
  pixel?: { enabled?: boolean; allowedHosts?: string[]; cookieOnly?: boolean };
}

export const DEFAULT_EVENTS = [
  { name: 'registration', payout: { kind: 'fixed' as const, value: 250 }, revenue: { kind: 'fixed' as const, value: 400 }, currency: 'EUR', repeatable: false },
  { name: 'sale', payout: { kind: 'percent' as const, value: 1000 }, revenue: { kind: 'percent' as const, value: 2000 }, currency: 'EUR', repeatable: true },
];

/** A complete advertiser → campaign → asset, publisher → support, and three providers, each with its own ids. */
export async function createFixture(o: FixtureOptions) {
  const ids = {
    advertiserId: testId('adv'),
    campaignId: testId('cmp'),
    assetId: testId('asset'),
    publisherId: testId('pub'),
    otherPublisherId: testId('pub2'),
    supportId: testId('sup'),
    campaignProviderId: testId('prov-c'),
    publisherProviderId: testId('prov-p'),
    businessProviderId: testId('prov-b'),
    token: testId('secret'),
  };
  await Advertiser.create({ _id: ids.advertiserId, name: 'Advertiser', postbackToken: ids.token, ipAllowlist: o.ipAllowlist ?? [], ...(o.pixel ? { pixel: o.pixel } : {}) });
  for (const [id, kind] of [
    [ids.campaignProviderId, 'campaign'],
    [ids.publisherProviderId, 'publisher'],
    [ids.businessProviderId, 'business'],
  ] as const) {
    await Provider.create({ _id: id, name: `${kind} provider`, kind, notificationUrl: `${o.sinkUrl}/provider/${id}?cid={click_id}&event={event}&payout={payout}&cur={currency}&status={status}` });
  }
  await Campaign.create({
    _id: ids.campaignId,
    advertiserId: ids.advertiserId,
    name: 'Campaign',
    status: o.status ?? 'active',
    approvalMode: o.approvalMode ?? 'auto',
    landingUrl: o.landingUrl ?? 'https://shop.example/landing?cid={click_id}&pub={publisher_id}&s1={sub1}&c={country}&d={device}&x={unknown}',
    fallbackUrl: o.fallbackUrl === undefined ? null : o.fallbackUrl,
    attributionWindowSec: o.windowSec ?? 3600,
    events: (o.events ?? DEFAULT_EVENTS).map((e) => ({ revenue: { kind: 'fixed', value: 0 }, repeatable: false, ...e })),
    publisherAccess: o.publisherAccess ?? 'all',
    allowedPublisherIds: o.publisherAccess === 'allowlist' ? [ids.publisherId] : [],
    providers: { campaign: ids.campaignProviderId, business: ids.businessProviderId },
  });
  await Asset.create({ _id: ids.assetId, campaignId: ids.campaignId, name: 'Banner' });
  for (const pub of [ids.publisherId, ids.otherPublisherId]) {
    await Publisher.create({
      _id: pub,
      name: 'Publisher',
      providerId: ids.publisherProviderId,
      postbackUrl: `${o.sinkUrl}/publisher/${pub}?cid={click_id}&event={event}&txid={txid}&amount={amount}&payout={payout}&cur={currency}&status={status}&s1={sub1}&p={p.utm_source}&conv={conversion_id}`,
    });
  }
  await Support.create({ _id: ids.supportId, publisherId: ids.publisherId, name: 'Site' });
  return ids;
}

export type Fixture = Awaited<ReturnType<typeof createFixture>>;

export function clickUrl(baseUrl: string, f: Fixture, extra = ''): string {
  return `${baseUrl}/c/${f.campaignId}?pub=${f.publisherId}&asset=${f.assetId}&sup=${f.supportId}${extra}`;
}

/**
 * Sessions stored by a click whose workflow has not been started (no worker ran, or Temporal was
 * away), created now (ids and createdAt from one clock reading, as a click makes them; an older id
 * would lie behind the hand-over's cursor): what the hand-over is there for. Returns their ids.
 */
export async function insertWaitingSessions(f: Fixture, count: number): Promise<string[]> {
  const now = Date.now();
  const ids = Array.from({ length: count }, () => uuidv7({ msecs: now }));
  await sessions().insertMany(
    ids.map((sessionId) =>
      sessionRecord(
        {
          sessionId, advertiserId: f.advertiserId, campaignId: f.campaignId, assetId: null, publisherId: f.publisherId,
          supportId: null, ip: '203.0.113.9', country: null, device: { type: 'desktop', os: null, browser: null, vendor: null, model: null },
          userAgent: null, publisherData: {}, referrer: null, providers: { campaign: null, publisher: null, business: null },
          bot: false, duplicate: false, createdAtMs: now, expiresAtMs: now + 3_600_000,
        },
        false,
      ),
    ),
  );
  return ids;
}
