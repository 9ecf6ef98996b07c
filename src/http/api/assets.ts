import { z } from 'zod';
import type { AppDeps } from '../../app';
import { Asset } from '../../persistence/models/asset';
import { Campaign } from '../../persistence/models/campaign';
import { visibleCampaigns } from './campaigns';
import type { Principal } from './principal';
import { assertExists, resourceRouter } from './resource';
import { recordSchemaOf } from './record-schema';
import type { RouteDoc } from './route';
import { idSchema, nameSchema, urlTemplate } from './schemas';

const KINDS = ['banner', 'mailer', 'text', 'video', 'other'] as const;

/** Assets belong to campaigns: a key sees the assets of the campaigns it sees. */
async function visibleAssets(p: Principal): Promise<Record<string, unknown> | null> {
  const campaigns = await visibleCampaigns(p);
  if (!campaigns) return null;
  const ids = (await Campaign.find(campaigns, { _id: 1 }).lean()).map((c) => c._id);
  return { campaignId: { $in: ids } };
}

export function assetsRouter(registry: RouteDoc[], deps: AppDeps) {
  return resourceRouter(registry, {
    tag: 'assets',
    path: '/assets',
    noun: 'asset',
    idPrefix: 'asset',
    model: Asset,
    kinds: { read: ['operator', 'advertiser', 'publisher'], create: ['operator', 'advertiser'], update: ['operator', 'advertiser'], archive: ['operator', 'advertiser'] },
    create: z.object({
      campaignId: idSchema,
      name: nameSchema,
      kind: z.enum(KINDS).default('banner'),
      url: urlTemplate('landing').nullable().default(null),
    }),
    update: z.object({ name: nameSchema, kind: z.enum(KINDS), url: urlTemplate('landing').nullable(), status: z.enum(['active', 'archived']) }).partial(),
    record: recordSchemaOf(Asset),
    filters: z.object({ campaign: idSchema.optional(), status: z.enum(['active', 'archived']).optional() }),
    filterQuery: (f) => ({ ...(f.campaign ? { campaignId: f.campaign } : {}), ...(f.status ? { status: f.status } : {}) }),
    visible: visibleAssets,
    prepareCreate: async (p, input) => {
      // Another advertiser's campaign is reported exactly like a missing one.
      await assertExists(Campaign, 'campaignId', [input.campaignId], (await visibleCampaigns(p)) ?? {});
      return input;
    },
    changed: () => deps.cache.assets.clear(),
  }).router;
}
