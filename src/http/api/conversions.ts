import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { AppDeps } from '../../app';
import type { ConversionRequest, StatusDecision } from '../../domain/attribution-rules';
import { conversions } from '../../persistence/models/conversion';
import { sessions, sessionSnapshot } from '../../persistence/models/session';
import { HttpError } from '../http-error';
import { pageSchema, paginate } from './pagination';
import { listBudget } from './query-budget';
import { notFound } from './resource';
import { ALL_KINDS, ApiRouter, type RouteDoc } from './route';
import { account } from './principal';
import { dateQuery, documented, idSchema, pageQuery, textSchema } from './schemas';
import { matchFilter, timeRange, trafficScope } from './query-filters';
import { CONVERSION, conversionView } from './views';

const decisionBody = z.strictObject({
  status: z.enum(['approved', 'rejected']),
  reason: documented(z.string().trim().min(1, 'is required: say why').refine((s) => [...s].length <= 500, 'must be at most 500 characters'), { type: 'string', maxLength: 500, pattern: '[^\\s\\ufeff]' }),
});

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
        event: textSchema(64).optional(),
        status: z.enum(['approved', 'pending', 'rejected']).optional(),
        from: dateQuery.optional(),
        to: dateQuery.optional(),
      }),
      response: pageSchema(CONVERSION),
    },
    async ({ principal, query }) => {
      const filter = {
        ...matchFilter(query, { campaign: 'campaignId', publisher: 'publisherId', advertiser: 'advertiserId', session: 'sessionId', event: 'event', status: 'status' }),
        ...timeRange(query.from, query.to, 'createdAt'),
      };
      const and = [filter, trafficScope(principal)];
      const budget = listBudget(deps.config, 'conversions');
      return paginate(
        query,
        (after, n) => budget.toArray(conversions().find({ $and: [...and, after] } as never, { maxTimeMS: budget.maxTimeMS }).sort({ _id: 1 }).limit(n)),
        (c) => conversionView(c, principal),
      );
    },
  );
  api.route('get', '/conversions/:id', { summary: 'One conversion', kinds: ALL_KINDS, response: CONVERSION }, async ({ principal, params }) => {
    const doc = await conversions().findOne({ _id: params.id!, ...trafficScope(principal) });
    if (!doc) throw notFound('conversion', params.id!);
    return conversionView(doc, principal);
  });
  api.route(
    'post',
    '/conversions/:id/status',
    { summary: 'Approve or reject a conversion (its advertiser or an operator), with a reason; the publisher is notified', kinds: ['operator', 'advertiser'], body: decisionBody,
      status: 202,
      response: z
        .object({
          status: z.literal('accepted'),
          conversion_id: z.string(),
          requested_status: z.enum(['approved', 'rejected']),
          request_id: z.string(),
          /** session: the running workflow applies it; closed-session: applied to the stored records. */
          applied_by: z.enum(['session', 'closed-session']),
        })
        .meta({ title: 'ConversionDecision' }),
    },
    async ({ principal, params, body }) => {
      const conv = await conversions().findOne({ _id: params.id!, ...trafficScope(principal) });
      if (!conv) throw notFound('conversion', params.id!);
      if (conv.supersededBy) throw new HttpError(409, `conversion ${conv._id} was taken over by conversion ${conv.supersededBy}: decide on that one`);
      if (conv.status === body.status) throw new HttpError(409, `conversion ${conv._id} is already ${body.status}`);
      const session = await sessions().findOne({ _id: conv.sessionId });
      if (!session) throw new HttpError(409, `the session of conversion ${conv._id} is not stored`);
      const decision: StatusDecision = { conversionId: conv._id, reason: body.reason, by: principal.kind === 'operator' ? `operator:${principal.keyId}` : `advertiser:${account(principal)}` };
      const request: ConversionRequest & { decision: StatusDecision } = {
        requestId: uuidv7(), source: 'api', event: conv.event, txid: conv.txid, amountMinor: null, amountCurrency: null,
        status: body.status, receivedAtMs: Date.now(), decision,
      };
      let via: Awaited<ReturnType<typeof deps.temporal.decideConversion>>;
      try {
        via = await deps.temporal.decideConversion(sessionSnapshot(session), request);
      } catch (err) {
        deps.log.warn({ conversionId: conv._id, requestId: request.requestId, err: String(err) }, 'conversion decision not handed to Temporal');
        throw new HttpError(503, 'the decision could not be handed to Temporal; nothing changed, retry later');
      }
      return { status: 'accepted', conversion_id: conv._id, requested_status: body.status, request_id: request.requestId, applied_by: via };
    },
  );
  return api.router;
}
