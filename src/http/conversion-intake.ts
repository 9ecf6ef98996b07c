import { timingSafeEqual } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { ConversionRequest } from '../domain/attribution-rules';
import { CONVERSION_PARAM_ALIASES, parseConversionParams, type ConversionParams, type ParamError } from '../domain/conversion-params';
import { formatMinor, parseAmount } from '../domain/money';
import { OPEN_PIXEL_POLICY, pixelRefusal } from '../domain/pixel-policy';
import { collectPublisherData } from '../domain/publisher-data';
import type { Logger } from '../log';
import type { IntakeOutcome, Metrics } from '../metrics';
import type { Cached, ConfigCache } from '../persistence/config-cache';
import type { CampaignDoc, CampaignEvent } from '../persistence/models/campaign';
import { conversions } from '../persistence/models/conversion';
import { inbounds, type InboundRecord } from '../persistence/models/inbound';
import { sessions } from '../persistence/models/session';
import { DatabaseUnavailable, lastUnavailableAt, operationBudgetMs, withinBudget } from '../persistence/operation-budget';
import { latestHeldClick } from '../persistence/held-clicks';
import { idTime } from '../persistence/session-ids';
import { errorBody } from './http-error';
import { ipAllowed } from './ip-allowlist';

// The pixel and the postback share one path from parameters to a stored conversion request. Every
// request is recorded in the inbound log with its outcome. An accepted conversion is durable when
// the answer goes out (its inbound record); no Temporal call is made here.
//
// The hand-over walks the log by id (UUIDv7, made as the request arrived) and takes a range once
// it is older than MONGO_OP_TIMEOUT_MS and a margin (app.ts). So an accepted record must be
// stored within MONGO_OP_TIMEOUT_MS of its id's clock reading, whatever the lookups before it
// took: a later one might land behind the walk and never be signalled. It is answered 503 instead
// (the sender retries), and if its insert lands after all, the record says it was refused.

export interface IntakeDeps {
  cache: ConfigCache;
  metrics: Metrics;
}

/** The deps with the logger of the request being taken. */
type IntakeContext = IntakeDeps & { log: Logger };

export interface IntakeInput {
  /** Given by the route so that answers it writes itself carry the same id; generated otherwise. */
  requestId?: string;
  source: 'pixel' | 'postback';
  params: Record<string, unknown>;
  ip: string;
  /** The pixel's fallback when no click id is given: the session the cookies point at. */
  cookieSessionId?: (campaignId: string | undefined) => string | undefined;
  /** Postback tokens sent in `X-Clicktrail-Token` or `Authorization: Bearer` (never logged). */
  headerTokens?: readonly string[];
  /** The pixel's page host (Origin, else Referer), for the advertiser's pixel policy. */
  pageHost?: string | null;
}

export interface IntakeResult {
  status: 200 | 202 | 400 | 401 | 403 | 404 | 410 | 503;
  body: Record<string, unknown>;
}

const clickIdAliases = CONVERSION_PARAM_ALIASES.clickId.aliases.join(', ');
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** What an accepted record stored after its request's deadline is rewritten to: it was answered 503. */
export const STORED_TOO_LATE = 'stored after its deadline (MONGO_OP_TIMEOUT_MS from its arrival), so answered 503: not a conversion; the sender retries';

/**
 * Before the token is checked, every failure gets this one answer (audit L1): whether a click id
 * exists, belongs to a campaign, or a token is right but the IP is not, is nobody's business yet.
 * The inbound log keeps the real reason.
 */
export const UNAUTHENTICATED = "authentication failed: send the advertiser's postback token (token parameter, X-Clicktrail-Token or Authorization: Bearer), from an allowed IP, with a click id of that advertiser";

/**
 * How long after MongoDB last failed a click id that is not found may still be on its way: a click
 * made during an outage is held by Temporal (click.ts) until its workflow stores the session,
 * which it does once MongoDB answers again, within seconds.
 */
export const CLICK_IN_FLIGHT_MS = 10 * 60_000;

/**
 * A click id not found that may be a click Temporal holds: made within CLICK_IN_FLIGHT_MS, and no
 * later (give or take a minute of other hosts' clocks) than either this process's last MongoDB
 * failure or the latest click any process handed to Temporal (held-clicks.ts), itself within
 * CLICK_IN_FLIGHT_MS. Answered 503 (retry) instead of unknown, so that an outage does not turn a
 * real conversion into a refusal its sender never retries.
 */
async function clickMayBeInFlight(clickId: string, now: number): Promise<boolean> {
  if (!UUID_V7.test(clickId)) return false;
  const madeAt = idTime(clickId);
  if (madeAt <= now - CLICK_IN_FLIGHT_MS) return false;
  const heldSince = (at: number) => now - at < CLICK_IN_FLIGHT_MS && madeAt <= at + 60_000;
  return heldSince(lastUnavailableAt()) || heldSince(await latestHeldClick(now));
}

export const CLICK_NOT_YET = 'click id not found yet: the database was unavailable lately, and a click made then is stored a little later; retry later';

/** What became of a conversion request, for the metrics. */
export function intakeOutcome(r: IntakeResult): IntakeOutcome {
  if (r.status === 202) return 'accepted';
  if (r.status === 200) return 'duplicate';
  return r.status >= 500 ? 'error' : 'rejected';
}

/**
 * Without MongoDB a conversion can be neither authenticated nor tied to its session, so none is
 * accepted: `503` (the postback's sender retries; the pixel still answers its GIF) within
 * MONGO_OP_TIMEOUT_MS, and the refused request in the log.
 */
export async function takeConversion(deps: IntakeDeps, log: Logger, input: IntakeInput): Promise<IntakeResult> {
  const d: IntakeContext = { cache: deps.cache, metrics: deps.metrics, log };
  const requestId = input.requestId ?? uuidv7();
  // Not a visitor's mistake: the routes make the id (request-context.ts), and the walk relies on its clock reading.
  if (!UUID_V7.test(requestId)) throw new Error(`conversion request id ${requestId} is not a UUIDv7`);
  try {
    return await intake(d, input, requestId);
  } catch (err) {
    if (!(err instanceof DatabaseUnavailable)) throw err;
    d.log.error({ requestId, source: input.source, params: loggable(input.params), err: err.message }, 'conversion refused: database unavailable');
    return { status: 503, body: { ...errorBody('temporarily unable to record the conversion: the database did not answer; retry later'), request_id: requestId } };
  }
}

async function intake(d: IntakeContext, input: IntakeInput, requestId: string): Promise<IntakeResult> {
  const at = new Date();
  let sessionId: string | null = null;
  const reject = (status: IntakeResult['status'], error: string, fields?: ParamError[], logged?: string): IntakeResult => {
    const body = errorBody(fields ? `${error}: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}` : error, fields?.map((f) => ({ path: f.field, message: f.message })));
    record(d, { _id: requestId, source: input.source, sessionId, params: loggable(input.params), ip: input.ip, outcome: 'rejected', httpStatus: status, reason: logged ?? body.error, request: null, at });
    return { status, body: { ...body, request_id: requestId } };
  };
  const unauthenticated = (why: string) => reject(401, UNAUTHENTICATED, undefined, `unauthenticated: ${why}`);

  const parsed = parseConversionParams(input.params);
  if (!parsed.ok) return reject(400, 'invalid parameters', parsed.errors);
  const p = parsed.value;
  if (input.source === 'pixel' && p.status !== undefined) {
    return reject(400, 'invalid parameters', [{ field: 'status', message: 'a pixel cannot set a status: statuses come from the postback or the API' }]);
  }

  const clickId = p.clickId ?? input.cookieSessionId?.(p.campaignId);
  if (!clickId) {
    return reject(400, 'invalid parameters', [
      { field: 'click_id', message: `is required (as one of: ${clickIdAliases})${input.source === 'pixel' ? ', or a clicktrail cookie' : ''}` },
    ]);
  }

  const notYet = () => reject(503, CLICK_NOT_YET, undefined, `click ${clickId} not found while the database was unavailable lately: it may be held by Temporal until its workflow stores it`);
  let session: Awaited<ReturnType<typeof findSession>>;
  if (input.source === 'postback') {
    const auth = await authenticatePostback(d, input, p, clickId);
    if (!auth.ok) return auth.clickMissing && (await clickMayBeInFlight(clickId, at.getTime())) ? notYet() : unauthenticated(auth.why);
    session = auth.session;
    if (!session && (await clickMayBeInFlight(clickId, at.getTime()))) return notYet();
    if (!session || session.advertiserId !== auth.advertiserId) return reject(404, `unknown click id "${clickId}"`);
    sessionId = session._id;
  } else {
    session = await findSession(clickId);
    if (!session) return (await clickMayBeInFlight(clickId, at.getTime())) ? notYet() : reject(404, `unknown click id "${clickId}"`);
    sessionId = session._id;
    const advertiser = await d.cache.advertisers.get(session.advertiserId);
    const refused = pixelRefusal({ ...OPEN_PIXEL_POLICY, ...advertiser?.pixel }, { clickIdParam: p.clickId !== undefined, pageHost: input.pageHost ?? null });
    if (refused) return reject(403, refused);
  }
  if (p.campaignId && p.campaignId !== session.campaignId) return reject(404, `click id does not belong to campaign "${p.campaignId}"`);
  if (p.advertiserId && p.advertiserId !== session.advertiserId) return reject(404, `click id does not belong to advertiser "${p.advertiserId}"`);

  if (session.expiresAt.getTime() < at.getTime()) return reject(410, 'the attribution window of this click has closed');

  const campaign = await d.cache.campaigns.get(session.campaignId);
  const money = conversionMoney(campaign, p);
  if (!money.ok) return reject(400, 'invalid parameters', [money.error]);
  const { event, rule } = money;
  // A status is the postback's (or the API's) to give; without one, the campaign's approval mode decides.
  const initialStatus = campaign?.approvalMode === 'manual' ? 'pending' : 'approved';

  const request: ConversionRequest = {
    requestId,
    source: input.source,
    event,
    txid: p.txid ?? null,
    amountMinor: money.amountMinor,
    amountCurrency: money.amountCurrency,
    revenueMinor: money.revenueMinor,
    status: (input.source === 'postback' ? p.status : undefined) ?? initialStatus,
    receivedAtMs: at.getTime(),
  };

  const counted = await alreadyCounted(session._id, session.advertiserId, request, rule);
  if (counted) {
    record(d, { _id: requestId, source: input.source, sessionId, params: loggable(input.params), ip: input.ip, outcome: 'duplicate', httpStatus: 200, reason: counted.reason, request, at, decision: { outcome: 'duplicate', reason: counted.reason, conversionId: counted.conversionId, at } });
    return { status: 200, body: { outcome: 'duplicate', status: 'duplicate', reason: counted.reason, conversion_id: counted.conversionId, session_id: sessionId, request_id: requestId } };
  }
  // Durable before the 202, and all this path does: the hand-over (worker processes) signals it to its session.
  const accepted: InboundRecord = { _id: requestId, source: input.source, sessionId, params: loggable(input.params), ip: input.ip, outcome: 'accepted', httpStatus: 202, reason: null, request, at };
  const deadline = idTime(requestId) + operationBudgetMs();
  const refused = (err: unknown): IntakeResult => {
    d.metrics.dependencyError(err, 'inbound_accept', 'mongodb');
    d.log.error({ requestId, request, err: String(err) }, 'conversion not stored');
    return { status: 503, body: { ...errorBody('temporarily unable to record the conversion in time; retry later'), request_id: requestId } };
  };
  if (Date.now() >= deadline) return refused(new DatabaseUnavailable('inbound insert: the lookups before it took all of MONGO_OP_TIMEOUT_MS'));
  // An insert, not an upsert: the id is this request's own and nothing else knows it before the 202.
  const insert = inbounds().insertOne(accepted);
  let failure: DatabaseUnavailable;
  try {
    await withinBudget(insert, 'inbound insert', deadline - Date.now());
    if (Date.now() <= deadline) return { status: 202, body: { outcome: 'accepted', status: 'accepted', session_id: sessionId, request_id: requestId } };
    failure = new DatabaseUnavailable('inbound insert: acknowledged after MONGO_OP_TIMEOUT_MS from the request');
  } catch (err) {
    if (!(err instanceof DatabaseUnavailable)) throw err;
    failure = err;
  }
  void insert.then(() => markTooLate(d, requestId), () => undefined);
  return refused(failure);
}

/** An accepted record that landed after its 503: refused, so that the walk passes it over if it has not reached it yet. */
async function markTooLate(d: IntakeContext, requestId: string): Promise<void> {
  try {
    await inbounds().updateOne({ _id: requestId, outcome: 'accepted' }, { $set: { outcome: 'rejected', httpStatus: 503, reason: STORED_TOO_LATE } });
    d.log.warn({ requestId }, 'conversion stored after its 503: marked refused');
  } catch (err) {
    d.metrics.dependencyError(err, 'inbound_log', 'mongodb');
    d.log.error({ requestId, err: String(err) }, 'conversion stored after its 503 could not be marked refused: the hand-over may signal it');
  }
}

/** What intake needs of a session: not its visitor fields (user agent, link parameters…), which the engine reads itself. */
function findSession(clickId: string) {
  return withinBudget(sessions().findOne<{ _id: string; advertiserId: string; campaignId: string; expiresAt: Date }>({ _id: clickId }, { projection: { advertiserId: 1, campaignId: 1, expiresAt: 1 } }), 'session lookup');
}

type PostbackAuth = { ok: true; advertiserId: string; session: Awaited<ReturnType<typeof findSession>> } | { ok: false; why: string; clickMissing?: true };

/**
 * The IP allowlist, then the token, before anything about the click is revealed. The advertiser is the one the
 * request names (`adv`, else `campaign`'s advertiser), else the one of the click's session.
 */
async function authenticatePostback(d: IntakeContext, input: IntakeInput, p: ConversionParams, clickId: string): Promise<PostbackAuth> {
  const given = new Set([...(input.headerTokens ?? []), ...(p.token !== undefined ? [p.token] : [])]);
  if (given.size > 1) return { ok: false, why: 'different tokens in the headers and parameters' };
  const [token] = given;
  if (!token) return { ok: false, why: 'no token' };
  const session = await findSession(clickId);
  let advertiserId = p.advertiserId;
  if (!advertiserId && p.campaignId) advertiserId = (await d.cache.campaigns.get(p.campaignId))?.advertiserId;
  advertiserId ??= session?.advertiserId;
  if (!advertiserId) return p.campaignId ? { ok: false, why: `unknown campaign "${p.campaignId}"` } : { ok: false, why: `unknown click id "${clickId}"`, clickMissing: true };
  const advertiser = await d.cache.advertisers.get(advertiserId);
  if (!advertiser) return { ok: false, why: `unknown advertiser "${advertiserId}"` };
  if (!ipAllowed(input.ip, advertiser.ipAllowlist)) return { ok: false, why: `IP ${input.ip} is not on advertiser ${advertiserId}'s allowlist` };
  if (!sameSecret(token, advertiser.postbackToken)) return { ok: false, why: `wrong token for advertiser ${advertiserId}` };
  return { ok: true, advertiserId, session };
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

function record(d: IntakeContext, doc: InboundRecord): void {
  upsertInbound(doc).catch((err) => {
    d.metrics.dependencyError(err, 'inbound_log', 'mongodb');
    d.log.warn({ requestId: doc._id, err: String(err) }, 'inbound log write failed');
  });
}

/** An upsert: the session workflow may write its decision onto the record before this lands. */
async function upsertInbound({ _id, ...fields }: InboundRecord): Promise<void> {
  await withinBudget(inbounds().updateOne({ _id }, { $set: fields }, { upsert: true }), 'inbound log write');
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
    const cap = rule.maxAmountMinor;
    if (typeof cap === 'number' && currency === rule.currency && amountMinor > cap) {
      return fail('amount', `is above the largest amount event "${event}" accepts (${formatMinor(cap, rule.currency)} ${rule.currency})`);
    }
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
    const c = await withinBudget(conversions().findOne({ advertiserId, txidKey: request.txid }, { projection: { _id: 1, status: 1, source: 1, sessionId: 1 } }), 'conversion lookup');
    // The authenticated postback takes over a transaction id a pixel claimed on another session:
    // the session workflow decides that, so it is no duplicate here.
    if (c && request.source === 'postback' && c.source === 'pixel' && c.sessionId !== sessionId) return null;
    return c && c.status === request.status ? { conversionId: c._id, reason: `transaction ${request.txid} already counted on conversion ${c._id}` } : null;
  }
  if (rule.repeatable) return null;
  const c = await withinBudget(conversions().findOne({ sessionId, event: request.event }, { projection: { _id: 1, status: 1 } }), 'conversion lookup');
  return c && c.status === request.status ? { conversionId: c._id, reason: `event "${request.event}" already counted for this session on conversion ${c._id}` } : null;
}
