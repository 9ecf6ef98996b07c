import { api, type Report } from './api';

/** Days and hours come back as local labels: `2026-11-30`, `2026-11-30T13:00+01:00`. Both read as instants. */
export function bucketTime(label: string): number {
  const ms = label.length === 10 ? Date.parse(`${label}T00:00:00`) : Date.parse(label);
  return Math.floor(ms / 1000);
}

/** Reports are limited to a few at once per key (REPORT_MAX_CONCURRENT_PER_KEY): a page asks for its reports one after another. */
export async function reportsInTurn(queries: Record<string, string | undefined>[]): Promise<Report[]> {
  const out: Report[] = [];
  for (const q of queries) out.push(await api<Report>('/reports', { query: q }));
  return out;
}
