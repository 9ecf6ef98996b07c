import { randomBytes } from 'node:crypto';
import { Advertiser } from '../persistence/models/advertiser';
import { ApiKey, issueApiKey } from '../persistence/models/api-key';
import { Asset } from '../persistence/models/asset';
import { Campaign } from '../persistence/models/campaign';
import { Provider } from '../persistence/models/provider';
import { Publisher } from '../persistence/models/publisher';
import { Support } from '../persistence/models/support';

export const DEMO = {
  advertiserId: 'demo-advertiser',
  campaignId: 'demo-campaign',
  assetId: 'demo-banner',
  publisherId: 'demo-publisher',
  supportId: 'demo-site',
  providerId: 'demo-network',
} as const;

/**
 * The demo advertiser, campaign, asset, publisher, support and provider. Idempotent: a second
 * start reuses them (and the advertiser's postback token); URLs follow the current base URL.
 */
export async function seedDemo(baseUrl: string): Promise<{ postbackToken: string }> {
  const upsert = { upsert: true, setDefaultsOnInsert: true };
  await Advertiser.updateOne(
    { _id: DEMO.advertiserId },
    { $setOnInsert: { name: 'Demo Advertiser', postbackToken: randomBytes(16).toString('hex') } },
    upsert,
  );
  await Provider.updateOne(
    { _id: DEMO.providerId },
    { $set: { name: 'Demo Traffic Network', kind: 'publisher', notificationUrl: `${baseUrl}/demo/sink/provider?click_id={click_id}&event={event}&payout={payout}&currency={currency}` } },
    upsert,
  );
  await Campaign.updateOne(
    { _id: DEMO.campaignId },
    {
      $set: {
        advertiserId: DEMO.advertiserId,
        name: 'Demo Campaign',
        status: 'active',
        landingUrl: `${baseUrl}/demo/landing?click_id={click_id}&campaign={campaign_id}&sub1={sub1}`,
        fallbackUrl: `${baseUrl}/demo/landing?fallback=1`,
        events: [
          { name: 'registration', payout: { kind: 'fixed', value: 200 }, revenue: { kind: 'fixed', value: 300 }, currency: 'EUR', repeatable: false },
          { name: 'sale', payout: { kind: 'percent', value: 1000 }, revenue: { kind: 'percent', value: 1500 }, currency: 'EUR', repeatable: true },
        ],
      },
    },
    upsert,
  );
  await Asset.updateOne({ _id: DEMO.assetId }, { $set: { campaignId: DEMO.campaignId, name: 'Demo banner 300x250', kind: 'banner' } }, upsert);
  await Publisher.updateOne(
    { _id: DEMO.publisherId },
    {
      $set: {
        name: 'Demo Publisher',
        providerId: DEMO.providerId,
        postbackUrl: `${baseUrl}/demo/sink/publisher?click_id={click_id}&event={event}&payout={payout}&currency={currency}&sub1={sub1}&status={status}`,
      },
    },
    upsert,
  );
  await Support.updateOne({ _id: DEMO.supportId }, { $set: { publisherId: DEMO.publisherId, name: 'Demo site', kind: 'site' } }, upsert);
  const advertiser = await Advertiser.findById(DEMO.advertiserId).lean().orFail();
  return { postbackToken: advertiser.postbackToken };
}

export function demoUrls(baseUrl: string, token: string, temporalUiUrl: string | null) {
  return {
    'Tracked link': `${baseUrl}/c/${DEMO.campaignId}?pub=${DEMO.publisherId}&asset=${DEMO.assetId}&sup=${DEMO.supportId}&sub1=hello`,
    'Pixel URL': `${baseUrl}/px.gif?campaign=${DEMO.campaignId}&event=sale&amount=49.90&currency=EUR&txid=ORDER-1`,
    'Postback URL': `${baseUrl}/postback?click_id={click_id}&event=registration&token=${token}`,
    'Temporal UI': `${temporalUiUrl ?? '(headless)'}/namespaces/default/workflows`,
  };
}

const DEMO_KEY_NAME = 'demo operator key (npm start)';

/**
 * An operator key for signing in to the dashboard of the local stack. Only its hash is stored, so
 * each start replaces the previous start's key instead of piling keys up.
 */
export async function demoOperatorKey(): Promise<string> {
  await ApiKey.deleteMany({ name: DEMO_KEY_NAME, kind: 'operator' });
  return (await issueApiKey({ kind: 'operator', accountId: null, name: DEMO_KEY_NAME })).key;
}
