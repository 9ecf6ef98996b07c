import { z } from 'zod';
import type { AppDeps } from '../../app';
import { SESSION_ID_RE } from '../../domain/conversion-params';
import { advertiserCampaignBounds } from '../../persistence/advertiser-campaigns';
import { conversions } from '../../persistence/models/conversion';
import { handedOver, readState } from '../../handover/session-ranges';
import { idRange, idRangeHint } from '../../persistence/session-ids';
import { sessions } from '../../persistence/models/session';
import { pageSchema, paginate } from './pagination';
import { matchFilter, trafficScope } from './query-filters';
import { listBudget } from './query-budget';
import { notFound } from './resource';
import { ALL_KINDS, ApiRouter, type RouteDoc } from './route';
import { booleanQuery, dateQuery, idSchema, pageQuery } from './schemas';
import { CONVERSION, SESSION, conversionView, sessionView } from './views';

const sessionProps = SESSION.properties as Record<string, unknown>;
/** One session with its conversions and its workflow's live view (workflows/session.ts SessionView). */
const SESSION_DETAIL = {
  ...SESSION,
  title: 'SessionDetail',
  properties: {
    ...sessionProps,
    conversions: { type: 'array', items: CONVERSION },
    workflowState: { type: 'string', enum: ['pending', 'running', 'closed', 'unavailable'], description: 'pending: stored, its workflow not started yet' },
    workflow: {
      description: "The running workflow's live view; null unless workflowState is running",
      anyOf: [
        {
          type: 'object',
          required: ['status', 'conversions', 'conversionCount', 'ignored', 'queued', 'run'],
          properties: {
            status: { type: 'string', enum: ['open', 'converted', 'expired'] },
            expiresAt: { type: 'string' },
            conversions: { type: 'array', items: { type: 'object' } },
            conversionCount: { type: 'integer' },
            ignored: { type: 'array', items: { type: 'object', required: ['requestId', 'event', 'reason', 'atMs'], properties: { requestId: { type: 'string' }, event: { type: 'string' }, reason: { type: 'string' }, atMs: { type: 'number' } } } },
            queued: { type: 'integer' },
            run: { type: 'integer' },
          },
        },
        { type: 'null' },
      ],
    },
  },
  required: [...(SESSION.required as string[]), 'conversions', 'workflowState', 'workflow'],
};

/** Sessions (clicks): list with filters, or one with its conversions and live workflow state. */
export function sessionsRouter(registry: RouteDoc[], deps: AppDeps) {
  const api = new ApiRouter(registry, 'sessions');
  api.route(
    'get',
    '/sessions',
    {
      summary: 'List sessions, oldest first (ids are time-ordered UUIDv7)',
      kinds: ALL_KINDS,
      query: z.strictObject({
        ...pageQuery,
        campaign: idSchema.optional(),
        publisher: idSchema.optional(),
        advertiser: idSchema.optional(),
        status: z.enum(['open', 'converted', 'expired']).optional(),
        bot: booleanQuery.optional(),
        from: dateQuery.optional(),
        to: dateQuery.optional(),
      }),
      response: pageSchema(SESSION),
    },
    async ({ principal, query }) => {
      const filter = {
        ...matchFilter(query, { campaign: 'campaignId', publisher: 'publisherId', advertiser: 'advertiserId', status: 'status', bot: 'bot' }),
        ...(query.from || query.to ? { _id: idRange(query.from, query.to) } : {}),
      };
      const scope = trafficScope(principal);
      const budget = listBudget(deps.config, 'sessions');
      const and = [filter, scope, ...(await budget.race(advertiserCampaignBounds([filter, scope])))];
      const hint = idRangeHint(and.flatMap((c) => Object.keys(c)));
      return paginate(query, (after, n) => budget.toArray(sessions().find({ $and: [...and, after] } as never, { maxTimeMS: budget.maxTimeMS, ...hint }).sort({ _id: 1 }).limit(n)), (doc) => sessionView(doc as never, principal));
    },
  );

  api.route('get', '/sessions/:id', { summary: 'One session: stored fields, its conversions, and the live state of its workflow (null once closed)', kinds: ALL_KINDS, response: SESSION_DETAIL }, async ({ principal, params }) => {
    const id = params.id!;
    const doc = SESSION_ID_RE.test(id) ? await sessions().findOne({ _id: id, ...trafficScope(principal) }) : null;
    if (!doc) throw notFound('session', id);
    const budget = listBudget(deps.config, "the session's conversions");
    const convs = await budget.toArray(conversions().find({ sessionId: id }, { maxTimeMS: budget.maxTimeMS }).sort({ createdAt: 1 }));
    let workflow: unknown = null;
    // pending: stored, its workflow not started yet (the hand-over's queue, or a lazy session that starts with a conversion).
    let workflowState: 'pending' | 'running' | 'closed' | 'unavailable' = 'pending';
    try {
      if (doc.workflowStarted === true || (!doc.lazy && handedOver(await readState(), id))) {
        workflow = await deps.temporal.querySession(id);
        workflowState = workflow ? 'running' : 'closed';
      }
    } catch (err) {
      // The stored fields are still worth answering with while Temporal is unreachable.
      deps.log.warn({ err: String(err), sessionId: id }, 'session query failed');
      workflowState = 'unavailable';
    }
    // The live view carries payouts: an advertiser sees what it is charged, not what publishers earn.
    if (workflow && principal.kind === 'advertiser') {
      const view = workflow as { conversions: Record<string, unknown>[] };
      workflow = { ...view, conversions: view.conversions.map(({ payoutMinor: _p, ...c }) => c) };
    }
    return { ...sessionView(doc as never, principal), conversions: convs.map((c) => conversionView(c, principal)), workflowState, workflow };
  });
  return api.router;
}
