import { formatMinor, minorDigits } from '../domain/money';

// Turns aggregated facts (click counts, conversion counts and sums) into report rows. Pure: the
// database part is in raw-facts.ts. Money stays in integer minor units per currency; amounts of
// different currencies are never added together.

export const DIMENSIONS = [
  'campaign', 'advertiser', 'publisher', 'asset', 'support', 'country', 'device_type', 'os', 'browser',
  'provider', 'campaign_provider', 'business_provider', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'day', 'hour',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export type Dims = Partial<Record<Dimension, string | null>>;

export interface ClickFact {
  dims: Dims;
  bot: boolean;
  count: number;
}

export interface ConversionFact {
  dims: Dims;
  event: string;
  currency: string;
  count: number;
  /** A bigint when summed from rollups (exact past 2^53). */
  payoutMinor: number | bigint;
  revenueMinor: number | bigint;
}

/** Which money columns a key may see: a publisher its payout, an advertiser what it is charged. */
export interface MoneyVisibility {
  payout: boolean;
  revenue: boolean;
}

export interface MoneyRow {
  currency: string;
  payout_minor?: number;
  payout?: string;
  revenue_minor?: number;
  revenue?: string;
  profit_minor?: number;
  profit?: string;
  /** Payout per click, to two more decimals than the currency has. */
  epc?: string | null;
}

export interface ReportMetrics {
  clicks: number;
  bot_clicks: number;
  conversions: Record<string, number>;
  conversions_total: number;
  /** Conversions per click, to 4 decimals; null without clicks. */
  conversion_rate: number | null;
  money: MoneyRow[];
}

export type ReportRow = Dims & ReportMetrics;

interface Acc {
  dims: Dims;
  clicks: number;
  bot: number;
  events: Map<string, number>;
  /** Summed in BigInt: whatever was tracked, a total formats and never throws (audit C1). */
  money: Map<string, { payout: bigint; revenue: bigint }>;
}

/** A sum as the database returns it (a double past 2^53) into an integer that formats. */
const big = (n: number | bigint): bigint => (typeof n === 'bigint' ? n : Number.isFinite(n) ? BigInt(Math.round(n)) : 0n);

const keyOf = (groupBy: readonly Dimension[], dims: Dims) => JSON.stringify(groupBy.map((d) => dims[d] ?? null));

/** `n / d` rounded half away from zero, for non-negative integers. */
function roundDiv(n: bigint, d: bigint): bigint {
  const q = n / d;
  return (n % d) * 2n >= d ? q + 1n : q;
}

/** Payout per click with two decimals more than the currency: 1000 cents over 3 clicks → "3.3333". */
export function earningsPerClick(payoutMinor: number | bigint, clicks: number, currency: string): string | null {
  if (clicks <= 0) return null;
  const decimals = minorDigits(currency) + 2;
  const payout = BigInt(payoutMinor);
  const scaled = roundDiv((payout < 0n ? -payout : payout) * 100n, BigInt(clicks));
  const digits = scaled.toString().padStart(decimals + 1, '0');
  const sign = payout < 0n && scaled !== 0n ? '-' : '';
  return `${sign}${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

function metrics(a: Acc, includeBots: boolean, show: MoneyVisibility): ReportMetrics {
  const clicks = a.clicks + (includeBots ? a.bot : 0);
  const conversions = Object.fromEntries([...a.events.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  const total = [...a.events.values()].reduce((s, n) => s + n, 0);
  const money = [...a.money.entries()]
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([currency, m]): MoneyRow => ({
      currency,
      ...(show.payout ? { payout_minor: Number(m.payout), payout: formatMinor(m.payout, currency) } : {}),
      ...(show.revenue ? { revenue_minor: Number(m.revenue), revenue: formatMinor(m.revenue, currency) } : {}),
      ...(show.payout && show.revenue ? { profit_minor: Number(m.revenue - m.payout), profit: formatMinor(m.revenue - m.payout, currency) } : {}),
      ...(show.payout ? { epc: earningsPerClick(m.payout, clicks, currency) } : {}),
    }));
  return {
    clicks,
    bot_clicks: a.bot,
    conversions,
    conversions_total: total,
    conversion_rate: clicks > 0 ? Math.round((total * 10_000) / clicks) / 10_000 : null,
    money,
  };
}

function compareDims(groupBy: readonly Dimension[], x: Dims, y: Dims): number {
  for (const d of groupBy) {
    const a = x[d] ?? null;
    const b = y[d] ?? null;
    if (a === b) continue;
    if (a === null) return -1;
    if (b === null) return 1;
    return a < b ? -1 : 1;
  }
  return 0;
}

export function buildReport(
  groupBy: readonly Dimension[],
  clicks: readonly ClickFact[],
  conversions: readonly ConversionFact[],
  o: { includeBots: boolean; show: MoneyVisibility },
): { rows: ReportRow[]; totals: ReportMetrics } {
  const groups = new Map<string, Acc>();
  const total: Acc = { dims: {}, clicks: 0, bot: 0, events: new Map(), money: new Map() };
  const accFor = (dims: Dims) => {
    const key = keyOf(groupBy, dims);
    let a = groups.get(key);
    if (!a) {
      a = { dims: Object.fromEntries(groupBy.map((d) => [d, dims[d] ?? null])), clicks: 0, bot: 0, events: new Map(), money: new Map() };
      groups.set(key, a);
    }
    return a;
  };
  for (const f of clicks) {
    for (const a of [accFor(f.dims), total]) {
      if (f.bot) a.bot += f.count;
      else a.clicks += f.count;
    }
  }
  for (const f of conversions) {
    for (const a of [accFor(f.dims), total]) {
      a.events.set(f.event, (a.events.get(f.event) ?? 0) + f.count);
      const m = a.money.get(f.currency) ?? { payout: 0n, revenue: 0n };
      m.payout += big(f.payoutMinor);
      m.revenue += big(f.revenueMinor);
      a.money.set(f.currency, m);
    }
  }
  const rows = [...groups.values()]
    .sort((x, y) => compareDims(groupBy, x.dims, y.dims))
    .map((a): ReportRow => ({ ...a.dims, ...metrics(a, o.includeBots, o.show) }));
  return { rows, totals: metrics(total, o.includeBots, o.show) };
}

const MONEY_COLUMNS = ['payout_minor', 'payout', 'revenue_minor', 'revenue', 'profit_minor', 'profit', 'epc'] as const;

const FORMULA_START_RE = /^[=+\-@\t\r]/;
const PLAIN_NUMBER_RE = /^-?\d+(\.\d+)?$/;

/** Quoted as needed; a text that a spreadsheet would run as a formula gets a leading `'` (OWASP CSV injection). */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (FORMULA_START_RE.test(s) && !PLAIN_NUMBER_RE.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The same rows as CSV: one line per group and currency (a group without money has one line with
 * an empty currency), a `conversions.EVENT` column per event seen.
 */
export function reportCsv(groupBy: readonly Dimension[], rows: readonly ReportRow[], show: MoneyVisibility): string {
  const events = [...new Set(rows.flatMap((r) => Object.keys(r.conversions)))].sort();
  const money = MONEY_COLUMNS.filter((c) => (c.startsWith('payout') || c === 'epc' ? show.payout : c.startsWith('revenue') ? show.revenue : show.payout && show.revenue));
  const header = [...groupBy, 'clicks', 'bot_clicks', 'conversions_total', ...events.map((e) => `conversions.${e}`), 'conversion_rate', 'currency', ...money];
  const lines = [header.map(csvCell).join(',')];
  for (const r of rows) {
    const base = [...groupBy.map((d) => r[d]), r.clicks, r.bot_clicks, r.conversions_total, ...events.map((e) => r.conversions[e] ?? 0), r.conversion_rate];
    const perCurrency: (MoneyRow | null)[] = r.money.length > 0 ? r.money : [null];
    for (const m of perCurrency) lines.push([...base, m?.currency, ...money.map((c) => m?.[c])].map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
