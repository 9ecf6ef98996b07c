import { z } from 'zod';
import type { AppDeps } from '../../app';
import { EVENT_NAME_RE } from '../../domain/conversion-params';
import { Advertiser } from '../../persistence/models/advertiser';
import { Campaign } from '../../persistence/models/campaign';
import { Provider } from '../../persistence/models/provider';
import { Publisher } from '../../persistence/models/publisher';
import { HttpError } from '../http-error';
import { account, type Principal } from './principal';
import { assertExists, presentDoc, resourceRouter } from './resource';
import { recordSchemaOf } from './record-schema';
import type { RouteDoc } from './route';
import { ValidationError, unprocessable } from './validation';
import { UNPROCESSABLE, countrySchema, currencySchema, idSchema, nameSchema, textSchema, urlTemplate } from './schemas';
import { MAX_AMOUNT_MINOR, MAX_PERCENT_BASIS_POINTS } from '../../domain/money';

const amountRule = z.discriminatedUnion('kind', [
  /** Minor units of the event's currency. */
  z.strictObject({ kind: z.literal('fixed'), value: z.number().int().min(0).max(MAX_AMOUNT_MINOR) }),
  /** Basis points of the sale amount (1000 = 10 %). */
  z.strictObject({ kind: z.literal('percent'), value: z.number().int().min(0).max(MAX_PERCENT_BASIS_POINTS, `a percentage is at most ${MAX_PERCENT_BASIS_POINTS} basis points (1000 %)`) }),
]);

type AmountRule = z.output<typeof amountRule>;

const eventSchema = z.strictObject({
  name: z.string().regex(EVENT_NAME_RE, 'must be 1 to 64 letters, digits, _ . : or -'),
  // Operator keys only; kept from the current event of the same name when left out (see withMoney).
  payout: amountRule.optional(),
  revenue: amountRule.optional(),
  currency: currencySchema,
  repeatable: z.boolean().default(false),
  /** The largest sale amount a conversion of this event may report, in minor units; null: the global cap. */
  maxAmountMinor: z.number().int().min(0).max(MAX_AMOUNT_MINOR).nullable().default(null),
});

type EventInput = z.output<typeof eventSchema>;
const ZERO: AmountRule = { kind: 'fixed', value: 0 };

/**
 * Money is the network's to set (audit C1/H1 follow-up): an advertiser key may not set what the
 * publisher earns nor what it is itself charged. Its new events pay and cost nothing until an
 * operator sets them; an event it changes keeps the amounts the operator gave it.
 */
function withMoney(p: Principal, list: EventInput[] | undefined, current: { name: string; payout?: unknown; revenue?: unknown }[] = []) {
  if (list === undefined) return undefined;
  if (p.kind !== 'operator') {
    const fields = list.flatMap((e, i) => (['payout', 'revenue'] as const).filter((k) => e[k] !== undefined).map((k) => ({ path: `events.${i}.${k}`, message: 'is set by the network: only operator keys may set it' })));
    if (fields.length > 0) throw new ValidationError(fields);
  }
  return list.map((e) => {
    const before = current.find((c) => c.name === e.name);
    return { ...e, payout: e.payout ?? (before?.payout as AmountRule | undefined) ?? ZERO, revenue: e.revenue ?? (before?.revenue as AmountRule | undefined) ?? ZERO };
  });
}

/**
 * Who receives provider notifications (with the conversion's payout) is the network's decision:
 * an advertiser key could otherwise send its campaigns' notifications to a provider of its choice.
 */
function providersByOperator(p: Principal, providers: unknown): void {
  if (p.kind !== 'operator' && providers !== undefined) {
    throw new ValidationError([{ path: 'providers', message: 'is set by the network: only operator keys may set it' }]);
  }
}

const events = z
  .array(eventSchema)
  .max(50)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((e, i) => {
      if (seen.has(e.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `event "${e.name}" is declared twice`, params: UNPROCESSABLE });
      seen.add(e.name);
    });
  });

const fields = {
  name: nameSchema,
  status: z.enum(['active', 'paused', 'archived']),
  approvalMode: z.enum(['auto', 'manual']),
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
    deviceTypes: z.array(textSchema(32, 1)).max(20).optional(),
  }),
};

/** A default event must be one of the campaign's events (also after its events change). */
function checkDefaultEvent(c: { events: { name: string }[]; defaultEvent?: string | null }): void {
  if (c.defaultEvent == null || c.events.some((e) => e.name === c.defaultEvent)) return;
  const known = c.events.map((e) => e.name).join(', ') || 'none';
  throw unprocessable([{ path: 'defaultEvent', message: `"${c.defaultEvent}" is not one of this campaign's events (known: ${known})` }]);
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
      approvalMode: fields.approvalMode.default('auto'),
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
    // An advertiser does not see payouts, a publisher neither revenue nor the allowlist.
    record: recordSchemaOf(Campaign, { optional: ['events.payout', 'events.revenue', 'allowedPublisherIds'] }),
    filters: z.object({ advertiser: idSchema.optional(), status: fields.status.optional() }),
    filterQuery: (f) => ({ ...(f.advertiser ? { advertiserId: f.advertiser } : {}), ...(f.status ? { status: f.status } : {}) }),
    visible: visibleCampaigns,
    prepareCreate: async (p, input) => {
      let advertiserId = input.advertiserId;
      if (p.kind === 'advertiser') {
        if (advertiserId !== undefined && advertiserId !== account(p)) throw new HttpError(403, 'an advertiser key creates campaigns for its own advertiser only');
        advertiserId = account(p);
      }
      if (!advertiserId) throw unprocessable([{ path: 'advertiserId', message: 'is required with an operator key' }]);
      await assertExists(Advertiser, 'advertiserId', [advertiserId]);
      providersByOperator(p, input.providers);
      await checkRefs(input);
      checkDefaultEvent(input);
      return { ...input, events: withMoney(p, input.events), advertiserId };
    },
    prepareUpdate: async (p, doc, patch) => {
      providersByOperator(p, patch.providers);
      await checkRefs(patch);
      checkDefaultEvent({ events: patch.events ?? (doc.events as { name: string }[]), defaultEvent: patch.defaultEvent === undefined ? (doc.defaultEvent as string | null) : patch.defaultEvent });
      return { ...patch, events: withMoney(p, patch.events, doc.events as { name: string }[]) };
    },
    present: (doc, p) => {
      const out = presentDoc(doc);
      // An advertiser sees what it is charged, not what the publisher earns.
      if (p.kind === 'advertiser') return { ...out, events: (doc.events as { payout?: unknown }[]).map(({ payout: _p, ...e }) => e) };
      if (p.kind !== 'publisher') return out;
      // A publisher sees what it earns, not the advertiser's price nor which other publishers run it.
      const { allowedPublisherIds: _a, ...rest } = out;
      return { ...rest, events: (doc.events as { revenue?: unknown }[]).map(({ revenue: _r, ...e }) => e) };
    },
    changed: () => deps.cache.campaigns.clear(),
  }).router;
}
