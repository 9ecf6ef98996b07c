import { timingSafeEqual } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { ConversionRequest } from '../domain/attribution-rules';
import { CONVERSION_PARAM_ALIASES, parseConversionParams, type ConversionParams, type ParamError } from '../domain/conversion-params';
import { parseAmount } from '../domain/money';
import { collectPublisherData } from '../domain/publisher-data';
import type { Logger } from '../log';
import type { Cached, ConfigCache } from '../persistence/config-cache';
import type { CampaignDoc, CampaignEvent } from '../persistence/models/campaign';
import { conversions } from '../persistence/models/conversion';
import { inbounds, type InboundRecord } from '../persistence/models/inbound';
import { sessions, sessionSnapshot } from '../persistence/models/session';
import type { SessionClient } from '../temporal/session-client';
import { errorBody } from './http-error';
import { ipAllowed } from './ip-allowlist';

// The pixel and the postback share one path from parameters to a conversion signal. Every request
// is recorded in the inbound log with its outcome. An accepted conversion is durable when the
// answer goes out: signalled to its session workflow, or (Temporal unreachable) stored in the
// inbound log for the recovery sweep.

export interface IntakeDeps {
  cache: ConfigCache;
  temporal: SessionClient;
  log: Logger;
}

export interface IntakeInput {
  /** Given by the route so that answers it writes itself carry the same id; generated otherwise. */
  requestId?: string;
  source: 'pixel' | 'postback';
  params: Record<string, unknown>;
  ip: string;
  /** The pixel's fallback when no click id is given: the session the cookies point at. */
  cookieSessionId?: (campaignId: string | undefined) => string | undefined;
}

export interface IntakeResult {
  status: 200 | 202 | 400 | 401 | 404 | 410 | 503;
  body: Record<string, unknown>;
}

const clickIdAliases = CONVERSION_PARAM_ALIASES.clickId.aliases.join(', ');

export async function takeConversion(d: IntakeDeps, input: IntakeInput): Promise<IntakeResult> {
  const requestId = input.requestId ?? uuidv7();
  const at = new Date();
  let sessionId: string | null = null;
  const reject = (status: IntakeResult['status'], error: string, fields?: ParamError[]): IntakeResult => {
    const body = errorBody(fields ? `${error}: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}` : error, fields?.map((f) => ({ path: f.field, message: f.message })));
    record(d, { _id: requestId, source: input.source, sessionId, params: loggable(input.params), ip: input.ip, outcome: 'rejected', httpStatus: status, reason: body.error, request: null, signalled: false, at });
    return { status, body: { ...body, request_id: requestId } };
  };

  const parsed = parseConversionParams(input.params);
  if (!parsed.ok) return reject(400, 'invalid parameters', parsed.errors);
  const p = parsed.value;

  const clickId = p.clickId ?? input.cookieSessionId?.(p.campaignId);
  if (!clickId) {
    return reject(400, 'invalid parameters', [
      { field: 'click_id', message: `is required (as one of: ${clickIdAliases})${input.source === 'pixel' ? ', or a clicktrail cookie' : ''}` },
    ]);
  }
  const session = await sessions().findOne({ _id: clickId });
  if (!session) return reject(404, `unknown click id "${clickId}"`);
  sessionId = session._id;
  if (p.campaignId && p.campaignId !== session.campaignId) return reject(404, `click id does not belong to campaign "${p.campaignId}"`);
  if (p.advertiserId && p.advertiserId !== session.advertiserId) return reject(404, `click id does not belong to advertiser "${p.advertiserId}"`);

  if (input.source === 'postback') {
    const advertiser = await d.cache.advertisers.get(session.advertiserId);
    if (!p.token) return reject(401, 'token is required (the advertiser postback secret)');
    if (!advertiser || !sameSecret(p.token, advertiser.postbackToken)) return reject(401, 'wrong token');
    if (!ipAllowed(input.ip, advertiser.ipAllowlist)) return reject(401, `IP ${input.ip} is not on the advertiser's allowlist`);
  }

  if (session.expiresAt.getTime() < at.getTime()) return reject(410, 'the attribution window of this click has closed');

  const campaign = await d.cache.campaigns.get(session.campaignId);
  const money = conversionMoney(campaign, p);
  if (!money.ok) return reject(400, 'invalid parameters', [money.error]);
  const { event, rule } = money;

  const request: ConversionRequest = {
    requestId,
    source: input.source,
    event,
    txid: p.txid ?? null,
    amountMinor: money.amountMinor,
    amountCurrency: money.amountCurrency,
    revenueMinor: money.revenueMinor,
    status: p.status ?? 'approved',
    receivedAtMs: at.getTime(),
  };

  const counted = await alreadyCounted(session._id, session.advertiserId, request, rule);
  if (counted) {
    record(d, { _id: requestId, source: input.source, sessionId, params: loggable(input.params), ip: input.ip, outcome: 'duplicate', httpStatus: 200, reason: counted.reason, request, signalled: false, at, decision: { outcome: 'duplicate', reason: counted.reason, conversionId: counted.conversionId, at } });
    return { status: 200, body: { outcome: 'duplicate', status: 'duplicate', reason: counted.reason, conversion_id: counted.conversionId, session_id: sessionId, request_id: requestId } };
  }
  const accepted: InboundRecord = { _id: requestId, source: input.source, sessionId, params: loggable(input.params), ip: input.ip, outcome: 'accepted', httpStatus: 202, reason: null, request, signalled: true, at };

  try {
    const outcome = await d.temporal.signalConversion(sessionSnapshot(session), request);
    if (outcome === 'closed') return reject(410, 'the attribution window of this click has closed');
    record(d, accepted);
    return { status: 202, body: { outcome: 'accepted', status: 'accepted', session_id: sessionId, request_id: requestId } };
  } catch (err) {
    d.log.warn({ requestId, sessionId, err: String(err) }, 'conversion not signalled; queued for the recovery sweep');
  }
  try {
    await upsertInbound({ ...accepted, signalled: false });
    return { status: 202, body: { outcome: 'accepted', status: 'accepted', session_id: sessionId, request_id: requestId, queued: true } };
  } catch (err) {
    d.log.error({ requestId, request, err: String(err) }, 'conversion neither signalled nor stored');
    return { status: 503, body: { ...errorBody('temporarily unable to record the conversion; retry later'), request_id: requestId } };
  }
}

export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What is kept of the raw parameters: bounded and MongoDB-safe like link parameters, the token never. */
function loggable(params: Record<string, unknown>): Record<string, string> {
  return collectPublisherData(params, { maxParams: 40, maxLength: 256, exclude: CONVERSION_PARAM_ALIASES.token.aliases }).data;
}

function record(d: IntakeDeps, doc: InboundRecord): void {
  upsertInbound(doc).catch((err) => d.log.warn({ requestId: doc._id, err: String(err) }, 'inbound log write failed'));
}

/** An upsert: the session workflow may write its decision onto the record before this lands. */
async function upsertInbound({ _id, ...fields }: InboundRecord): Promise<void> {
  await inbounds().updateOne({ _id }, { $set: fields }, { upsert: true });
}

type Money =
  | { ok: true; event: string; rule: CampaignEvent; amountMinor: number | null; amountCurrency: string | null; revenueMinor: number | null }
  | { ok: false; error: ParamError };

/**
 * The event and the money of a conversion, with no silent default: the event is named or is the
 * campaign's `defaultEvent`; an event paid as a percentage needs the sale amount; `revenue`
 * (`payout`) is what the advertiser pays and must be in the event's currency.
 */
export function conversionMoney(campaign: Cached<CampaignDoc> | null, p: ConversionParams): Money {
  const fail = (field: string, message: string): Money => ({ ok: false, error: { field, message } });
  const events = campaign?.events ?? [];
  const known = events.map((e) => e.name).join(', ') || 'none';
  const event = p.event ?? campaign?.defaultEvent ?? undefined;
  if (!event) return fail('event', `is required: this campaign has no default event (known: ${known})`);
  const rule = events.find((e) => e.name === event);
  if (!rule) return fail('event', `"${event}" is not an event of this campaign (known: ${known})`);

  const currency = p.currency ?? rule.currency;
  let amountMinor: number | null = null;
  if (p.amount !== undefined) {
    const amount = parseAmount(p.amount, currency);
    if (!amount.ok) return fail('amount', amount.reason);
    amountMinor = amount.minor;
  }
  let revenueMinor: number | null = null;
  if (p.revenue !== undefined) {
    if (currency !== rule.currency) return fail('currency', `must be ${rule.currency}: revenue is counted in the currency of event "${event}"`);
    const revenue = parseAmount(p.revenue, currency);
    if (!revenue.ok) return fail('revenue', revenue.reason);
    revenueMinor = revenue.minor;
  }
  const percent = rule.payout?.kind === 'percent' || (rule.revenue?.kind === 'percent' && revenueMinor === null);
  if (percent && amountMinor === null) {
    return fail('amount', `is required: event "${event}" pays a percentage of the sale amount (revenue and payout are what the conversion pays, not the sale amount)`);
  }
  if (percent && currency !== rule.currency) {
    return fail('currency', `must be ${rule.currency}: event "${event}" pays a percentage of the amount in ${rule.currency}`);
  }
  return { ok: true, event, rule, amountMinor, amountCurrency: amountMinor === null ? null : currency, revenueMinor };
}

/**
 * A conversion already stored with the same transaction id (or, for a non-repeatable event without
 * one, the same event on this session) and the same status: the session workflow would ignore it,
 * so the network is told now. Anything else (a status change, a new conversion) goes to the workflow.
 */
async function alreadyCounted(
  sessionId: string,
  advertiserId: string,
  request: ConversionRequest,
  rule: CampaignEvent,
): Promise<{ conversionId: string; reason: string } | null> {
  if (request.txid !== null) {
    const c = await conversions().findOne({ advertiserId, txidKey: request.txid }, { projection: { _id: 1, status: 1 } });
    return c && c.status === request.status ? { conversionId: c._id, reason: `transaction ${request.txid} already counted on conversion ${c._id}` } : null;
  }
  if (rule.repeatable) return null;
  const c = await conversions().findOne({ sessionId, event: request.event }, { projection: { _id: 1, status: 1 } });
  return c && c.status === request.status ? { conversionId: c._id, reason: `event "${request.event}" already counted for this session on conversion ${c._id}` } : null;
}
