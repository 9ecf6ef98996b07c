import { z } from 'zod';
import type { AppDeps } from '../../app';
import { deliveries, type DeliveryAttemptRecord } from '../../persistence/models/delivery';
import { HttpError } from '../http-error';
import { pageSchema, paginate } from './pagination';
import { listBudget } from './query-budget';
import { account, type Principal } from './principal';
import { notFound } from './resource';
import { ApiRouter, type RouteDoc } from './route';
import { matchFilter } from './query-filters';
import { pageQuery, textSchema } from './schemas';

const DELIVERY_ID_RE = /^[A-Za-z0-9_.:-]{1,400}$/;
const RESEND_RE = /-resend-(\d+)$/;
const MAX_RESENDS = 50;

/** A publisher sees the postbacks sent to it; provider notifications are the operator's. */
function deliveryScope(p: Principal): Record<string, string> {
  return p.kind === 'publisher' ? { target: 'publisher', targetId: account(p) } : {};
}

const OUTCOME = z.enum(['delivered', 'failed', 'given_up']);
const DELIVERY = z
  .object({
    deliveryId: z.string(),
    resendOf: z.string().nullable(),
    conversionId: z.string(),
    sessionId: z.string(),
    target: z.enum(['publisher', 'provider']),
    targetId: z.string(),
    url: z.string(),
    /** delivered once any attempt was. */
    outcome: OUTCOME,
    attempts: z.array(z.object({ attempt: z.number().int(), statusCode: z.number().int().nullable(), latencyMs: z.number(), error: z.string().nullable(), outcome: OUTCOME, at: z.iso.datetime() })),
  })
  .meta({ title: 'Delivery' });

function grouped(deliveryId: string, attempts: DeliveryAttemptRecord[]) {
  const last = attempts[attempts.length - 1]!;
  return {
    deliveryId,
    resendOf: RESEND_RE.test(deliveryId) ? deliveryId.replace(RESEND_RE, '') : null,
    conversionId: last.conversionId,
    sessionId: last.sessionId,
    target: last.target,
    targetId: last.targetId,
    url: last.url,
    outcome: attempts.some((a) => a.outcome === 'delivered') ? 'delivered' : last.outcome,
    attempts: attempts.map(({ attempt, statusCode, latencyMs, error, outcome, at }) => ({ attempt, statusCode, latencyMs, error, outcome, at })),
  };
}

/** Outbound postbacks and provider notifications, each with every attempt; re-send one that failed. */
export function deliveriesRouter(registry: RouteDoc[], deps: AppDeps) {
  const api = new ApiRouter(registry, 'deliveries');
  api.route(
    'get',
    '/deliveries',
    {
      summary: 'List deliveries (by delivery id), each with its attempts; outcome matches deliveries with an attempt of that outcome',
      kinds: ['operator', 'publisher'],
      query: z.strictObject({
        ...pageQuery,
        conversion: textSchema(64).optional(),
        session: textSchema(64).optional(),
        target: z.enum(['publisher', 'provider']).optional(),
        target_id: textSchema(64).optional(),
        outcome: OUTCOME.optional(),
      }),
      response: pageSchema(DELIVERY),
    },
    async ({ principal, query }) => {
      const filter = matchFilter(query, { conversion: 'conversionId', session: 'sessionId', target: 'target', target_id: 'targetId', outcome: 'outcome' });
      const scope = deliveryScope(principal);
      const budget = listBudget(deps.config, 'deliveries');
      const ids = await paginate(
        query,
        (after, n) =>
          budget.toArray(
            deliveries().aggregate<{ _id: string }>(
              [
                { $match: { $and: [filter, scope, after._id ? { deliveryId: after._id } : {}] } },
                { $group: { _id: '$deliveryId', n: { $sum: 1 } } },
                { $sort: { _id: 1 } },
                { $limit: n },
              ],
              { maxTimeMS: budget.maxTimeMS },
            ),
          ),
        (g) => g._id,
      );
      const attempts = await budget.toArray(deliveries().find({ deliveryId: { $in: ids.data } }, { maxTimeMS: budget.maxTimeMS }).sort({ deliveryId: 1, attempt: 1 }));
      const byId = new Map<string, DeliveryAttemptRecord[]>();
      for (const a of attempts) byId.set(a.deliveryId, [...(byId.get(a.deliveryId) ?? []), a]);
      return { data: ids.data.map((id) => grouped(id, byId.get(id) ?? [])), next_cursor: ids.next_cursor };
    },
  );

  api.route(
    'post',
    '/deliveries/:deliveryId/resend',
    { summary: 'Send a failed or given-up delivery again, as a new delivery `<id>-resend-<n>` with the full retry policy', kinds: ['operator', 'publisher'], status: 202, response: z.object({ deliveryId: z.string(), resendOf: z.string(), url: z.string() }).meta({ title: 'Resend' }) },
    async ({ principal, params }) => {
      const deliveryId = params.deliveryId!;
      const attempts = DELIVERY_ID_RE.test(deliveryId)
        ? await deliveries().find({ deliveryId, ...deliveryScope(principal) }).sort({ attempt: 1 }).toArray()
        : [];
      if (attempts.length === 0) throw notFound('delivery', deliveryId);
      if (attempts.some((a) => a.outcome === 'delivered')) throw new HttpError(409, `delivery "${deliveryId}" was delivered; nothing to re-send`);
      const root = deliveryId.replace(RESEND_RE, '');
      const resent = await deliveries().find({ deliveryId: { $regex: `^${escapeRegex(root)}-resend-\\d+$` } }, { projection: { deliveryId: 1, outcome: 1 } }).toArray();
      const resentOk = resent.find((a) => a.outcome === 'delivered');
      if (resentOk) throw new HttpError(409, `delivery "${root}" was already re-sent successfully as "${resentOk.deliveryId}"`);
      if ((await deps.temporal.deliveryState(root)) === 'running') throw new HttpError(409, `delivery "${root}" is still being retried`);

      const last = attempts[attempts.length - 1]!;
      // Re-sends are generations 1, 2, … of the root, one at a time: a generation is started only
      // when the one before it has closed, and starting an id is atomic in Temporal, so of two
      // concurrent requests one starts the next generation and the other meets it (409), never a
      // second one beside it.
      const logged = resent.map((a) => Number(RESEND_RE.exec(a.deliveryId)?.[1] ?? 0));
      for (let n = Math.max(1, ...logged); n <= MAX_RESENDS; n++) {
        const workflowId = `${root}-resend-${n}`;
        const state = await deps.temporal.deliveryState(workflowId);
        if (state === 'running') throw new HttpError(409, `delivery "${root}" is being re-sent as "${workflowId}"`);
        if (state === 'closed') continue;
        // A new delivery id keeps the original attempts on record (attempt documents are keyed by id and attempt).
        const started = await deps.temporal.resendDelivery({ deliveryId: workflowId, conversionId: last.conversionId, sessionId: last.sessionId, target: last.target, targetId: last.targetId, url: last.url });
        if (!started) throw new HttpError(409, `delivery "${root}" is being re-sent as "${workflowId}"`);
        return { deliveryId: workflowId, resendOf: deliveryId, url: last.url };
      }
      throw new HttpError(409, `delivery "${root}" has been re-sent ${MAX_RESENDS} times already`);
    },
  );
  return api.router;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

