import { timingSafeEqual } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { ConversionRequest } from '../domain/attribution-rules';
import { CONVERSION_PARAM_ALIASES, parseConversionParams, type ParamError } from '../domain/conversion-params';
import { parseAmount } from '../domain/money';
import { collectPublisherData } from '../domain/publisher-data';
import type { Logger } from '../log';
import type { ConfigCache } from '../persistence/config-cache';
import { inbounds, type InboundRecord } from '../persistence/models/inbound';
import { sessions, sessionSnapshot } from '../persistence/models/session';
import type { SessionClient } from '../temporal/session-client';
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
  source: 'pixel' | 'postback';
  params: Record<string, unknown>;
  ip: string;
  /** The pixel's fallback when no click id is given: the session the cookies point at. */
  cookieSessionId?: (campaignId: string | undefined) => string | undefined;
}

export interface IntakeResult {
  status: 202 | 400 | 401 | 404 | 410 | 503;
  body: Record<string, unknown>;
}

const clickIdAliases = CONVERSION_PARAM_ALIASES.clickId.aliases.join(', ');

export async function takeConversion(d: IntakeDeps, input: IntakeInput): Promise<IntakeResult> {
  const requestId = uuidv7();
  const at = new Date();
  let sessionId: string | null = null;
  const reject = (status: IntakeResult['status'], error: string, fields?: ParamError[]): IntakeResult => {
    record(d, { _id: requestId, source: input.source, sessionId, params: loggable(input.params), ip: input.ip, outcome: 'rejected', httpStatus: status, reason: fields ? `${error}: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}` : error, request: null, signalled: false, at });
    return { status, body: { error, ...(fields ? { fields } : {}), request_id: requestId } };
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
  const events = campaign?.events ?? [];
  const event = p.event ?? events[0]?.name;
  const rule = events.find((e) => e.name === event);
  if (!event || !rule) {
    const known = events.map((e) => e.name).join(', ') || 'none';
    return reject(400, 'invalid parameters', [
      { field: 'event', message: event ? `"${event}" is not an event of this campaign (known: ${known})` : `is required (known: ${known})` },
    ]);
  }

  let amountMinor: number | null = null;
  const amountCurrency = p.amount === undefined ? null : (p.currency ?? rule.currency);
  if (p.amount !== undefined && amountCurrency) {
    const amount = parseAmount(p.amount, amountCurrency);
    if (!amount.ok) return reject(400, 'invalid parameters', [{ field: 'amount', message: amount.reason }]);
    amountMinor = amount.minor;
    const percent = rule.payout?.kind === 'percent' || rule.revenue?.kind === 'percent';
    if (percent && amountCurrency !== rule.currency) {
      return reject(400, 'invalid parameters', [
        { field: 'currency', message: `must be ${rule.currency}: event "${event}" pays a percentage of the amount in ${rule.currency}` },
      ]);
    }
  }

  const request: ConversionRequest = {
    requestId,
    source: input.source,
    event,
    txid: p.txid ?? null,
    amountMinor,
    amountCurrency,
    status: p.status ?? 'approved',
    receivedAtMs: at.getTime(),
  };
  const accepted: InboundRecord = { _id: requestId, source: input.source, sessionId, params: loggable(input.params), ip: input.ip, outcome: 'accepted', httpStatus: 202, reason: null, request, signalled: true, at };

  try {
    const outcome = await d.temporal.signalConversion(sessionSnapshot(session), request);
    if (outcome === 'closed') return reject(410, 'the attribution window of this click has closed');
    record(d, accepted);
    return { status: 202, body: { status: 'accepted', session_id: sessionId, request_id: requestId } };
  } catch (err) {
    d.log.warn({ requestId, sessionId, err: String(err) }, 'conversion not signalled; queued for the recovery sweep');
  }
  try {
    await inbounds().insertOne({ ...accepted, signalled: false });
    return { status: 202, body: { status: 'accepted', session_id: sessionId, request_id: requestId, queued: true } };
  } catch (err) {
    d.log.error({ requestId, request, err: String(err) }, 'conversion neither signalled nor stored');
    return { status: 503, body: { error: 'temporarily unable to record the conversion; retry later', request_id: requestId } };
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What is kept of the raw parameters: bounded and MongoDB-safe like link parameters, the token never. */
function loggable(params: Record<string, unknown>): Record<string, string> {
  return collectPublisherData(params, { maxParams: 40, maxLength: 256, exclude: CONVERSION_PARAM_ALIASES.token.aliases }).data;
}

function record(d: IntakeDeps, doc: InboundRecord): void {
  inbounds()
    .insertOne(doc)
    .catch((err) => d.log.warn({ requestId: doc._id, err: String(err) }, 'inbound log write failed'));
}
