import { z } from 'zod';
import type { AppDeps } from '../../app';
import { Advertiser } from '../../persistence/models/advertiser';
import { Campaign } from '../../persistence/models/campaign';
import { Provider } from '../../persistence/models/provider';
import { Publisher } from '../../persistence/models/publisher';
import { HttpError } from '../http-error';
import { account, type Principal } from './principal';
import { assertExists, presentDoc, resourceRouter } from './resource';
import type { RouteDoc } from './route';
import { ValidationError } from './validation';
import { countrySchema, currencySchema, idSchema, nameSchema, urlTemplate } from './schemas';

const amountRule = z.strictObject({
  kind: z.enum(['fixed', 'percent']),
  /** fixed: minor units of the event's currency; percent: basis points of the sale amount (1000 = 10 %). */
  value: z.number().int().min(0).max(1_000_000_000_000),
});

const eventSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 letters, digits, _ . or -'),
  payout: amountRule.default({ kind: 'fixed', value: 0 }),
  revenue: amountRule.default({ kind: 'fixed', value: 0 }),
  currency: currencySchema,
  repeatable: z.boolean().default(false),
});

const events = z
  .array(eventSchema)
  .max(50)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((e, i) => {
      if (seen.has(e.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `event "${e.name}" is declared twice` });
      seen.add(e.name);
    });
  });

const fields = {
  name: nameSchema,
  status: z.enum(['active', 'paused', 'archived']),
  landingUrl: urlTemplate('landing'),
  fallbackUrl: urlTemplate('landing').nullable(),
  attributionWindowSec: z.number().int().min(60).max(400 * 24 * 3600),
  events,
  defaultEvent: z.string().nullable(),
  publisherAccess: z.enum(['all', 'allowlist']),
  allowedPublisherIds: z.array(idSchema).max(10_000),
  providers: z.strictObject({ campaign: idSchema.nullable().optional(), business: idSchema.nullable().optional() }),
  targeting: z.strictObject({
    countries: z.array(countrySchema).max(300).optional(),
    deviceTypes: z.array(z.string().min(1).max(32)).max(20).optional(),
  }),
};

/** A default event must be one of the campaign's events (also after its events change). */
function checkDefaultEvent(c: { events: { name: string }[]; defaultEvent?: string | null }): void {
  if (c.defaultEvent == null || c.events.some((e) => e.name === c.defaultEvent)) return;
  const known = c.events.map((e) => e.name).join(', ') || 'none';
  throw new ValidationError([{ path: 'defaultEvent', message: `"${c.defaultEvent}" is not one of this campaign's events (known: ${known})` }]);
}

/** The campaigns a key sees: an advertiser its own, a publisher the active ones it may run. */
export async function visibleCampaigns(p: Principal): Promise<Record<string, unknown> | null> {
  if (p.kind === 'operator') return null;
  if (p.kind === 'advertiser') return { advertiserId: account(p) };
  return { status: 'active', $or: [{ publisherAccess: 'all' }, { allowedPublisherIds: account(p) }] };
}

export function campaignsRouter(registry: RouteDoc[], deps: AppDeps) {
  const checkRefs = async (c: { allowedPublisherIds?: string[]; providers?: { campaign?: string | null; business?: string | null } }) => {
    await assertExists(Publisher, 'allowedPublisherIds', c.allowedPublisherIds ?? []);
    await assertExists(Provider, 'providers.campaign', [c.providers?.campaign], { kind: 'campaign' });
    await assertExists(Provider, 'providers.business', [c.providers?.business], { kind: 'business' });
  };
  return resourceRouter(registry, {
    tag: 'campaigns',
    path: '/campaigns',
    noun: 'campaign',
    idPrefix: 'cmp',
    model: Campaign,
    kinds: { read: ['operator', 'advertiser', 'publisher'], create: ['operator', 'advertiser'], update: ['operator', 'advertiser'], archive: ['operator', 'advertiser'] },
    create: z.object({
      ...fields,
      advertiserId: idSchema.optional(),
      status: fields.status.default('active'),
      fallbackUrl: fields.fallbackUrl.default(null),
      attributionWindowSec: fields.attributionWindowSec.optional(),
      events: events.default([]),
      defaultEvent: fields.defaultEvent.default(null),
      publisherAccess: fields.publisherAccess.default('all'),
      allowedPublisherIds: fields.allowedPublisherIds.default([]),
      providers: fields.providers.optional(),
      targeting: fields.targeting.optional(),
    }),
    update: z.object(fields).partial(),
    filters: z.object({ advertiser: idSchema.optional(), status: fields.status.optional() }),
    filterQuery: (f) => ({ ...(f.advertiser ? { advertiserId: f.advertiser } : {}), ...(f.status ? { status: f.status } : {}) }),
    visible: visibleCampaigns,
    prepareCreate: async (p, input) => {
      let advertiserId = input.advertiserId;
      if (p.kind === 'advertiser') {
        if (advertiserId !== undefined && advertiserId !== account(p)) throw new HttpError(403, 'an advertiser key creates campaigns for its own advertiser only');
        advertiserId = account(p);
      }
      if (!advertiserId) throw new ValidationError([{ path: 'advertiserId', message: 'is required' }]);
      await assertExists(Advertiser, 'advertiserId', [advertiserId]);
      await checkRefs(input);
      checkDefaultEvent(input);
      return { ...input, advertiserId };
    },
    prepareUpdate: async (_p, doc, patch) => {
      await checkRefs(patch);
      checkDefaultEvent({ events: patch.events ?? (doc.events as { name: string }[]), defaultEvent: patch.defaultEvent === undefined ? (doc.defaultEvent as string | null) : patch.defaultEvent });
      return patch;
    },
    present: (doc, p) => {
      const out = presentDoc(doc);
      if (p.kind !== 'publisher') return out;
      // A publisher sees what it earns, not the advertiser's price nor which other publishers run it.
      const { allowedPublisherIds: _a, ...rest } = out;
      return { ...rest, events: (doc.events as { revenue?: unknown }[]).map(({ revenue: _r, ...e }) => e) };
    },
    changed: () => deps.cache.campaigns.clear(),
  }).router;
}
