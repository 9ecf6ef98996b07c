import { z } from 'zod';
import type { AppDeps } from '../../app';
import { conversions, type ConversionRecord } from '../../persistence/models/conversion';
import { paginate } from './pagination';
import { listBudget } from './query-budget';
import type { Principal } from './principal';
import { notFound } from './resource';
import { ALL_KINDS, ApiRouter, type RouteDoc } from './route';
import { dateQuery, idSchema, pageQuery } from './schemas';
import { matchFilter, timeRange, trafficScope } from './sessions';

/** A conversion as a key may see it: publishers do not see revenue, advertisers not the payout. */
export function conversionView(c: ConversionRecord, p: Principal): Record<string, unknown> {
  const { _id, txidKey: _k, ...rest } = c;
  const out: Record<string, unknown> = { id: _id, ...rest };
  if (p.kind === 'publisher') delete out.revenueMinor;
  if (p.kind === 'advertiser') delete out.payoutMinor;
  return out;
}

export function conversionsRouter(registry: RouteDoc[], deps: AppDeps) {
  const api = new ApiRouter(registry, 'conversions');
  api.route(
    'get',
    '/conversions',
    {
      summary: 'List conversions by id',
      kinds: ALL_KINDS,
      query: z.strictObject({
        ...pageQuery,
        campaign: idSchema.optional(),
        publisher: idSchema.optional(),
        advertiser: idSchema.optional(),
        session: idSchema.optional(),
        event: z.string().max(64).optional(),
        status: z.enum(['approved', 'pending', 'rejected']).optional(),
        from: dateQuery.optional(),
        to: dateQuery.optional(),
      }),
    },
    async ({ principal, query }) => {
      const filter = {
        ...matchFilter(query, { campaign: 'campaignId', publisher: 'publisherId', advertiser: 'advertiserId', session: 'sessionId', event: 'event', status: 'status' }),
        ...timeRange(query.from, query.to, 'createdAt'),
      };
      const and = [filter, trafficScope(principal)];
      const budget = await listBudget(deps.config, 'conversions');
      return paginate(
        query,
        (after, n) => budget.toArray(conversions().find({ $and: [...and, after] } as never, { maxTimeMS: budget.maxTimeMS }).sort({ _id: 1 }).limit(n)),
        (c) => conversionView(c, principal),
      );
    },
  );
  api.route('get', '/conversions/:id', { summary: 'One conversion', kinds: ALL_KINDS }, async ({ principal, params }) => {
    const doc = await conversions().findOne({ _id: params.id!, ...trafficScope(principal) });
    if (!doc) throw notFound('conversion', params.id!);
    return conversionView(doc, principal);
  });
  return api.router;
}
