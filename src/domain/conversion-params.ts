// Parses conversion pixel and postback parameters, accepting the aliases the established
// platforms use (docs/tracking.md). Pure and deterministic: imported by workflow code.
import type { ConversionStatus } from './attribution-rules';
import { isCurrency } from './money';

/** Session (click) ids are UUIDs. */
export const SESSION_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;


export type ConversionParams = {
  clickId?: string;
  event?: string;
  txid?: string;
  /** The sale value: the base of percent rules. */
  amount?: string;
  /** What the advertiser pays for this conversion: overrides the campaign's revenue rule. */
  revenue?: string;
  currency?: string;
  status?: ConversionStatus;
  token?: string;
  campaignId?: string;
  advertiserId?: string;
};

export type ParamError = { field: string; message: string };

export type ConversionParamsResult = { ok: true; value: ConversionParams } | { ok: false; errors: ParamError[] };

type Key = keyof ConversionParams;

/** Canonical field name (used in errors) and aliases, first present wins. */
export const CONVERSION_PARAM_ALIASES: Readonly<Record<Key, { field: string; aliases: readonly string[] }>> = {
  clickId: { field: 'click_id', aliases: ['click_id', 'clickid', 'cid', 'subid', 'session_id'] },
  event: { field: 'event', aliases: ['event', 'goal', 'et', 'event_id', 'goal_id'] },
  txid: { field: 'txid', aliases: ['txid', 'transaction_id', 'order_id', 'tid', 'action_id'] },
  // One meaning per money word: `payout` is what Voluum, Keitaro and most networks send as what the
  // conversion pays, i.e. the advertiser's revenue; the publisher's payout always comes from the rules.
  amount: { field: 'amount', aliases: ['amount', 'sum', 'sale_amount'] },
  revenue: { field: 'revenue', aliases: ['revenue', 'payout'] },
  currency: { field: 'currency', aliases: ['currency'] },
  status: { field: 'status', aliases: ['status'] },
  token: { field: 'token', aliases: ['token', 'security_token', 'verification_token', 'secure'] },
  campaignId: { field: 'campaign', aliases: ['campaign', 'campaign_id'] },
  advertiserId: { field: 'adv', aliases: ['adv', 'advertiser', 'advertiser_id'] },
};

export const STATUS_ALIASES: Readonly<Record<string, ConversionStatus>> = {
  approved: 'approved',
  approve: 'approved',
  confirmed: 'approved',
  pending: 'pending',
  hold: 'pending',
  rejected: 'rejected',
  declined: 'rejected',
  canceled: 'rejected',
  cancelled: 'rejected',
};

/** Event names, at intake and in campaign and publisher configuration alike. */
export const EVENT_NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const TXID_RE = /^[\x20-\x7e]{1,128}$/;
const AMOUNT_RE = /^\d{1,13}(\.\d{1,6})?$/;
/** Ids in tracked links and the API: campaigns, publishers, assets, supports, advertisers. */
export const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** One raw parameter, normalised: absent, a single trimmed non-empty string, or a problem. */
type Raw = { kind: 'absent' } | { kind: 'value'; value: string } | { kind: 'error'; message: string };

function scalar(v: unknown): { ok: true; value: string } | { ok: false } {
  switch (typeof v) {
    case 'string':
      return { ok: true, value: v.trim() };
    case 'number':
    case 'boolean':
    case 'bigint':
      return { ok: true, value: String(v) };
    default:
      return { ok: false };
  }
}

function readRaw(input: Record<string, unknown>, name: string): Raw {
  if (!Object.hasOwn(input, name)) return { kind: 'absent' };
  const v = input[name];
  if (v === undefined || v === null) return { kind: 'absent' };
  const items = Array.isArray(v) ? (v as unknown[]) : [v];
  const distinct = new Set<string>();
  for (const item of items) {
    if (item === undefined || item === null) continue;
    const s = scalar(item);
    if (!s.ok) return { kind: 'error', message: `\`${name}\` must be a string` };
    if (s.value !== '') distinct.add(s.value);
  }
  if (distinct.size > 1) return { kind: 'error', message: `\`${name}\` was given more than once with different values` };
  const [value] = distinct;
  return value === undefined ? { kind: 'absent' } : { kind: 'value', value };
}

type Resolved = { present: false } | { present: true; alias: string; value?: string; errors: ParamError[] };

/** First present alias wins; any other alias present with a different value is a conflict. */
function resolve(input: Record<string, unknown>, field: string, aliases: readonly string[]): Resolved {
  let winner: { alias: string; value?: string } | undefined;
  const errors: ParamError[] = [];
  for (const alias of aliases) {
    const raw = readRaw(input, alias);
    if (raw.kind === 'absent') continue;
    if (raw.kind === 'error') {
      errors.push({ field, message: raw.message });
      winner ??= { alias };
      continue;
    }
    if (!winner) {
      winner = { alias, value: raw.value };
    } else if (winner.value !== undefined && winner.value !== raw.value) {
      errors.push({ field, message: `\`${winner.alias}\` and \`${alias}\` were given with different values` });
    }
  }
  if (!winner) return { present: false };
  return { present: true, alias: winner.alias, ...(winner.value !== undefined ? { value: winner.value } : {}), errors };
}

function validate(key: Key, field: string, value: string): { ok: true; value: string } | { ok: false; error: ParamError } {
  const fail = (message: string) => ({ ok: false as const, error: { field, message } });
  switch (key) {
    case 'clickId':
      return SESSION_ID_RE.test(value) ? { ok: true, value: value.toLowerCase() } : fail('is not a clicktrail click id');
    case 'event':
      return EVENT_NAME_RE.test(value) ? { ok: true, value } : fail('must be 1 to 64 letters, digits or _ . : -');
    case 'txid':
      return TXID_RE.test(value) ? { ok: true, value } : fail('must be 1 to 128 printable ASCII characters');
    case 'amount':
    case 'revenue':
      return AMOUNT_RE.test(value) ? { ok: true, value } : fail('must be a non-negative decimal number such as 12.50');
    case 'currency': {
      const upper = value.toUpperCase();
      return isCurrency(upper) ? { ok: true, value: upper } : fail('is not an ISO 4217 currency code');
    }
    case 'status': {
      const lower = value.toLowerCase();
      const status = Object.hasOwn(STATUS_ALIASES, lower) ? STATUS_ALIASES[lower] : undefined;
      return status
        ? { ok: true, value: status }
        : fail(`must be one of ${Object.keys(STATUS_ALIASES).join(', ')}`);
    }
    case 'campaignId':
    case 'advertiserId':
      return ID_RE.test(value) ? { ok: true, value } : fail('must be 1 to 64 letters, digits, _ or -');
    case 'token':
      return { ok: true, value };
  }
}

/**
 * Parses pixel/postback parameters (query merged with a form or JSON body). Never throws:
 * every problem is reported with the canonical field name.
 */
export function parseConversionParams(input: Record<string, unknown>): ConversionParamsResult {
  const source: Record<string, unknown> = typeof input === 'object' && input !== null ? input : {};
  const errors: ParamError[] = [];
  const value: ConversionParams = {};
  const aliasesOf: Record<Key, readonly string[]> = {
    clickId: CONVERSION_PARAM_ALIASES.clickId.aliases,
    event: CONVERSION_PARAM_ALIASES.event.aliases,
    txid: CONVERSION_PARAM_ALIASES.txid.aliases,
    amount: CONVERSION_PARAM_ALIASES.amount.aliases,
    revenue: CONVERSION_PARAM_ALIASES.revenue.aliases,
    currency: CONVERSION_PARAM_ALIASES.currency.aliases,
    status: CONVERSION_PARAM_ALIASES.status.aliases,
    token: CONVERSION_PARAM_ALIASES.token.aliases,
    campaignId: CONVERSION_PARAM_ALIASES.campaignId.aliases,
    advertiserId: CONVERSION_PARAM_ALIASES.advertiserId.aliases,
  };

  // Everflow and TUNE send the click id back as `transaction_id`: when no click id alias is
  // present and `transaction_id` looks like a session id, it is the click id.
  const clickAliases = CONVERSION_PARAM_ALIASES.clickId.aliases;
  if (clickAliases.every((a) => readRaw(source, a).kind === 'absent')) {
    const tx = readRaw(source, 'transaction_id');
    if (tx.kind === 'value' && SESSION_ID_RE.test(tx.value)) {
      aliasesOf.clickId = ['transaction_id'];
      aliasesOf.txid = aliasesOf.txid.filter((a) => a !== 'transaction_id');
    }
  }

  for (const key of Object.keys(CONVERSION_PARAM_ALIASES) as Key[]) {
    const { field } = CONVERSION_PARAM_ALIASES[key];
    const r = resolve(source, field, aliasesOf[key]);
    if (!r.present) continue;
    errors.push(...r.errors);
    if (r.value === undefined) continue;
    const v = validate(key, field, r.value);
    if (!v.ok) {
      errors.push(v.error);
      continue;
    }
    if (r.errors.length === 0) (value as Record<Key, string>)[key] = v.value;
  }

  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}
