import { api, type Report, type ResponseOf } from './api';
import { addDays } from './format';

/** Days and hours come back as local labels: `2026-11-30`, `2026-11-30T13:00+01:00`. Both read as instants. */
export function bucketTime(label: string): number {
  const ms = label.length === 10 ? Date.parse(`${label}T00:00:00`) : Date.parse(label);
  return Math.floor(ms / 1000);
}

/** Reports are limited to a few at once per key (REPORT_MAX_CONCURRENT_PER_KEY): a page asks for its reports one after another. */
export async function reportsInTurn(queries: Record<string, string | undefined>[]): Promise<Report[]> {
  const out: Report[] = [];
  for (const q of queries) out.push(await api<ResponseOf<'/reports'>>('/reports', { query: q }));
  return out;
}

const PLAIN_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * One point per day or hour of [from, to) (plain dates), zero where the report has no row, so a
 * quiet day shows as zero instead of a gap; rows of other dimensions add up per bucket.
 */
export function timeSeries<R extends Record<string, unknown>>(rows: R[], dim: string, from: string, to: string, value: (r: R) => number): { times: number[]; values: number[] } {
  const sums = new Map<number, number>();
  for (const r of rows) {
    const t = bucketTime(String(r[dim]));
    sums.set(t, (sums.get(t) ?? 0) + value(r));
  }
  const times = new Set<number>(sums.keys());
  if (PLAIN_DATE.test(from) && PLAIN_DATE.test(to)) {
    for (let day = from, i = 0; day < to && i < 400; day = addDays(day, 1), i++) {
      const start = bucketTime(day);
      if (dim === 'day') times.add(start);
      // Hours by offset from local midnight: on a daylight-saving day one hour repeats or is skipped.
      else for (let h = 0; h < 24; h++) times.add(start + h * 3600);
    }
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { times: sorted, values: sorted.map((t) => sums.get(t) ?? 0) };
}
