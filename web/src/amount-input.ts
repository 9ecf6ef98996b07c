import { MAX_PERCENT_BASIS_POINTS, formatMinor, isCurrency, parseAmount } from '../../src/domain/money';

// A campaign event's payout or revenue as a person types it, and as the API stores it: a fixed
// amount in the event's currency ("2.50" EUR ↔ 250 minor units) or a percentage of the sale
// ("12.5" % ↔ 1250 basis points). Converted on the digits, never through a float.

export type RuleKind = 'fixed' | 'percent';
export interface AmountRule {
  kind: RuleKind;
  value: number;
}
export type Parsed = { ok: true; value: number } | { ok: false; reason: string };

const PERCENT_RE = /^(\d{1,7})(?:\.(\d{1,2})0*)?$/;

/** "12.5" → 1250 basis points; at most two decimals (a basis point is 0.01 %). */
export function parsePercent(raw: string): Parsed {
  const m = PERCENT_RE.exec(raw.trim());
  if (!m) return { ok: false, reason: 'must be a percentage such as 12.5 (at most two decimals)' };
  const bp = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  if (bp > MAX_PERCENT_BASIS_POINTS) return { ok: false, reason: `must be at most ${MAX_PERCENT_BASIS_POINTS / 100} %` };
  return { ok: true, value: bp };
}

/** 1250 → "12.5" */
export function formatPercent(basisPoints: number): string {
  return formatMinor(basisPoints, 'EUR').replace(/\.?0+$/, '') || '0';
}

/** The text a rule is edited as (empty for none). */
export function ruleText(rule: AmountRule | null | undefined, currency: string): string {
  if (!rule) return '';
  if (rule.kind === 'percent') return formatPercent(rule.value);
  return isCurrency(currency) ? formatMinor(rule.value, currency) : String(rule.value);
}

/** A typed amount into the API's value: minor units of `currency`, or basis points. */
export function parseRule(kind: RuleKind, text: string, currency: string): Parsed {
  if (kind === 'percent') return parsePercent(text);
  if (!isCurrency(currency)) return { ok: false, reason: 'needs the event’s currency first (an ISO 4217 code such as EUR)' };
  const r = parseAmount(text, currency);
  return r.ok ? { ok: true, value: r.minor } : r;
}
