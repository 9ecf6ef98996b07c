import { z } from 'zod';
import type { AppDeps } from '../../app';
import { Advertiser } from '../../persistence/models/advertiser';
import { Asset } from '../../persistence/models/asset';
import { Campaign } from '../../persistence/models/campaign';
import { Publisher } from '../../persistence/models/publisher';
import { Support } from '../../persistence/models/support';
import { HttpError } from '../http-error';
import { visibleCampaigns } from './campaigns';
import { account, type Principal } from './principal';
import { findVisible, notFound } from './resource';
import { ApiRouter, type RouteDoc } from './route';
import { idSchema, textSchema } from './schemas';
import { unprocessable } from './validation';

const subs = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`sub${i + 1}`, textSchema(256).optional()])) as Record<`sub${number}`, z.ZodOptional<ReturnType<typeof textSchema>>>;

const linkQuery = z.strictObject({ campaign: idSchema, publisher: idSchema.optional(), asset: idSchema.optional(), support: idSchema.optional(), ...subs });

/** Ready-to-paste URLs: a publisher's tracked link, an advertiser's pixel and postback. */
export function linksRouter(registry: RouteDoc[], deps: AppDeps) {
  const base = deps.config.PUBLIC_BASE_URL.replace(/\/$/, '');
  const api = new ApiRouter(registry, 'links');

  api.route('get', '/links', { summary: 'The tracked click URL for a campaign, publisher, asset and support, with sub parameters', kinds: ['operator', 'publisher'],
    query: linkQuery,
    response: z.object({ url: z.string(), campaignId: z.string(), campaignStatus: z.enum(['active', 'paused']), publisherId: z.string(), assetId: z.string().nullable(), supportId: z.string().nullable() }).meta({ title: 'TrackedLink' }),
  }, async ({ principal, query }) => {
    const publisherId = linkPublisher(principal, query.publisher);
    const campaign = await findVisible(Campaign, await visibleCampaigns(principal), 'campaign', query.campaign);
    if (campaign.status === 'archived') throw notFound('campaign', query.campaign);
    const publisher = await Publisher.findById(publisherId).lean();
    if (!publisher || publisher.status !== 'active') throw unprocessable([{ path: 'publisher', message: `no active publisher "${publisherId}"` }]);
    if (campaign.publisherAccess === 'allowlist' && !(campaign.allowedPublisherIds as string[]).includes(publisherId)) {
      throw unprocessable([{ path: 'publisher', message: `may not run campaign "${campaign._id}" (not on its allowlist)` }]);
    }
    if (query.asset && !(await Asset.exists({ _id: query.asset, campaignId: campaign._id, status: 'active' }))) {
      throw unprocessable([{ path: 'asset', message: `no active asset "${query.asset}" on this campaign` }]);
    }
    if (query.support && !(await Support.exists({ _id: query.support, publisherId, status: 'active' }))) {
      throw unprocessable([{ path: 'support', message: `no active support "${query.support}" of this publisher` }]);
    }
    const params = new URLSearchParams({ pub: publisherId });
    if (query.asset) params.set('asset', query.asset);
    if (query.support) params.set('sup', query.support);
    for (let i = 1; i <= 10; i++) {
      const v = query[`sub${i}` as keyof typeof query];
      if (v) params.set(`sub${i}`, v);
    }
    return {
      url: `${base}/c/${encodeURIComponent(campaign._id)}?${params.toString()}`,
      campaignId: campaign._id,
      campaignStatus: campaign.status,
      publisherId,
      assetId: query.asset ?? null,
      supportId: query.support ?? null,
    };
  });

  api.route('get', '/advertisers/:id/tracking', { summary: "The advertiser's conversion pixel and postback URLs, ready to fill in", kinds: ['operator', 'advertiser'],
    response: z
      .object({
        advertiserId: z.string(),
        pixel: z.object({ gif: z.string(), html: z.string() }),
        postback: z.string(),
        ipAllowlist: z.array(z.string()),
        campaigns: z.array(z.object({ id: z.string(), name: z.string(), status: z.enum(['active', 'paused']), events: z.array(z.string()), pixel: z.string() })),
      })
      .meta({ title: 'AdvertiserTracking' }),
  }, async ({ principal, params }) => {
    const adv = await findVisible(Advertiser, principal.kind === 'operator' ? null : { _id: account(principal) }, 'advertiser', params.id!);
    const campaigns = await Campaign.find({ advertiserId: adv._id, status: { $ne: 'archived' } }).sort({ _id: 1 }).lean();
    const id = encodeURIComponent(adv._id);
    // Braced names are for the advertiser to replace with its own values (its platform's macros).
    const conversionParams = 'event={event}&click_id={click_id}&txid={txid}&amount={amount}&currency={currency}';
    return {
      advertiserId: adv._id,
      pixel: { gif: `${base}/px.gif?adv=${id}&${conversionParams}`, html: `${base}/px.html?adv=${id}&${conversionParams}` },
      postback: `${base}/postback?${conversionParams}&status={status}&token=${encodeURIComponent(String(adv.postbackToken))}`,
      ipAllowlist: adv.ipAllowlist,
      campaigns: campaigns.map((c) => ({
        id: c._id,
        name: c.name,
        status: c.status,
        events: c.events.map((e) => e.name),
        pixel: `${base}/px.gif?campaign=${encodeURIComponent(c._id)}&${conversionParams}`,
      })),
    };
  });
  return api.router;
}

function linkPublisher(p: Principal, requested: string | undefined): string {
  if (p.kind === 'publisher') {
    if (requested !== undefined && requested !== account(p)) throw new HttpError(403, 'a publisher key builds links for its own publisher only');
    return account(p);
  }
  if (!requested) throw unprocessable([{ path: 'publisher', message: 'is required with an operator key' }]);
  return requested;
}
