import type { MoneyRow } from './api';

export const MONEY_FIELDS = ['payout', 'revenue', 'profit'] as const;
export type MoneyField = (typeof MONEY_FIELDS)[number];

/** Amounts arrive formatted from integer minor units; they are shown as they are, never as floats. */
export function money(rows: MoneyRow[], field: MoneyField): string {
  const parts = rows.filter((m) => m[field] !== undefined).map((m) => `${m[field]} ${m.currency}`);
  return parts.length ? parts.join(', ') : '—';
}

/** Which money columns this key sees: the API leaves out the others. */
export function visibleMoney(kind: string): MoneyField[] {
  if (kind === 'advertiser') return ['revenue'];
  if (kind === 'publisher') return ['payout'];
  return ['payout', 'revenue', 'profit'];
}

export function capitalized(word: string): string {
  return word[0]!.toUpperCase() + word.slice(1);
}

/** A session's status, and whether its click was a bot's. */
export function sessionStatus(s: { status: string; bot?: boolean | null }): string {
  return s.status + (s.bot ? ' (bot)' : '');
}

/** A conversion's status, and the reason given for it. */
export function conversionStatus(c: { status: string; statusReason?: string | null }): string {
  return c.status + (c.statusReason ? ` (${c.statusReason})` : '');
}

export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(2)} %`;
}

export function count(n: number): string {
  return new Intl.NumberFormat().format(n);
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Change against the previous period, in words a person reads at a glance. */
export function change(now: number, before: number): string {
  if (before === 0) return now === 0 ? 'no change' : 'new';
  const pct = ((now - before) / before) * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %`;
}

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Today's date (YYYY-MM-DD) in a time zone. */
export function today(tz: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

/** Calendar arithmetic on plain dates: no time zone involved. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** A local calendar day (yyyy-mm-dd from a date input) as the instant it starts: the API's date-time filters take instants. */
export function dayStart(day: string | null | undefined): string | undefined {
  return day ? new Date(`${day}T00:00`).toISOString() : undefined;
}

/** The instant a local calendar day ends (the next one starts): a "to" day is included whole. */
export function dayEnd(day: string | null | undefined): string | undefined {
  if (!day) return undefined;
  const d = new Date(`${day}T00:00`);
  d.setDate(d.getDate() + 1);
  return d.toISOString();
}
