import { useState } from 'preact/hooks';
import { api, apiUrl, type Me, type Report, type ReportRow } from '../api';
import { Chart } from '../chart';
import { addDays, browserTimeZone, capitalized, count, money, percent, today, visibleMoney, type MoneyField } from '../format';
import { timeSeries } from '../report-query';
import { navigate } from '../router';
import { Empty, Show, TableWrap, useAsync } from '../ui';

const DIMENSIONS = ['day', 'hour', 'campaign', 'advertiser', 'publisher', 'asset', 'support', 'country', 'device_type', 'os', 'browser', 'provider'] as const;
const FILTERS = ['campaign', 'advertiser', 'publisher', 'asset', 'support', 'country', 'device_type'] as const;
const STATUSES = ['approved', 'pending', 'rejected'] as const;
type Metric = 'clicks' | 'conversions' | 'conversion_rate' | MoneyField;

const label = (s: string) => capitalized(s).replace(/_/g, ' ');

/** The report the URL describes, with defaults filled in. The URL is the report: share it, reload it. */
function readParams(params: URLSearchParams, me: Me) {
  const tz = params.get('tz') || browserTimeZone();
  const to = params.get('to') || addDays(today(tz), 1);
  const from = params.get('from') || addDays(to, -7);
  const groupBy = (params.get('group_by') || 'day').split(',').filter(Boolean);
  const metrics: Metric[] = ['clicks', 'conversions', 'conversion_rate', ...visibleMoney(me.kind)];
  const metric = (metrics.includes(params.get('metric') as Metric) ? params.get('metric') : 'clicks') as Metric;
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? '']));
  return { tz, from, to, groupBy, metric, metrics, filters, status: params.get('status') ?? '', includeBots: params.get('include_bots') === 'true', sort: params.get('sort') || '', dir: params.get('dir') === 'asc' ? 'asc' : 'desc' } as const;
}

function apiQuery(p: ReturnType<typeof readParams>): Record<string, string | undefined> {
  return { from: p.from, to: p.to, tz: p.tz, group_by: p.groupBy.join(',') || undefined, status: p.status || undefined, include_bots: p.includeBots ? 'true' : undefined, ...Object.fromEntries(Object.entries(p.filters).filter(([, v]) => v)) };
}

function metricOf(r: ReportRow | Report['totals'], m: Metric): number {
  if (m === 'clicks') return r.clicks;
  if (m === 'conversions') return r.conversions_total;
  if (m === 'conversion_rate') return r.conversion_rate ?? 0;
  // Charted and sorted by the first currency's minor units: an integer, exact.
  return r.money[0]?.[`${m}_minor`] ?? 0;
}

export function Reports({ me, params }: { me: Me; params: URLSearchParams }) {
  const p = readParams(params, me);
  const query = apiQuery(p);
  const key = JSON.stringify(query);
  const [report] = useAsync(() => api<Report>('/reports', { query }), key);

  const setParams = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) if (v) next.set(k, v); else next.delete(k);
    navigate(`/reports?${next.toString()}`);
  };

  return (
    <section aria-labelledby="reports-title">
      <h1 id="reports-title">Reports</h1>
      <ReportForm key={key} p={p} onSubmit={setParams} />
      <Show value={report} what="the report">
        {(r) => (
          <>
            <div class="toolbar">
              <label>
                Chart metric{' '}
                <select value={p.metric} onChange={(e) => setParams({ metric: (e.target as HTMLSelectElement).value })}>
                  {p.metrics.map((m) => (
                    <option key={m} value={m}>
                      {label(m)}
                    </option>
                  ))}
                </select>
              </label>
              <a class="button" href={apiUrl('/reports', { ...query, format: 'csv' })} download="report.csv">
                Download CSV
              </a>
            </div>
            <ReportChart report={r} metric={p.metric} from={p.from} to={p.to} />
            <ReportTable report={r} me={me} sort={p.sort} dir={p.dir} onSort={(sort, dir) => setParams({ sort, dir })} />
          </>
        )}
      </Show>
    </section>
  );
}

function ReportForm({ p, onSubmit }: { p: ReturnType<typeof readParams>; onSubmit: (c: Record<string, string>) => void }) {
  const [form, setForm] = useState({ from: p.from, to: p.to, tz: p.tz, group_by: p.groupBy, status: p.status, include_bots: p.includeBots, ...p.filters });
  const set = (k: string, v: unknown) => setForm((f) => ({ ...f, [k]: v }));
  const toggle = (d: string) => set('group_by', form.group_by.includes(d) ? form.group_by.filter((x) => x !== d) : [...form.group_by, d]);
  return (
    <form
      class="report-form card"
      onSubmit={(e) => {
        e.preventDefault();
        const { group_by, include_bots, ...rest } = form;
        onSubmit({ ...(rest as Record<string, string>), group_by: group_by.join(','), include_bots: include_bots ? 'true' : '' });
      }}
    >
      <div class="fields">
        <label>
          From (first day)
          <input type="date" value={form.from} required onInput={(e) => set('from', (e.target as HTMLInputElement).value)} />
        </label>
        <label>
          To (day after the last)
          <input type="date" value={form.to} required onInput={(e) => set('to', (e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Time zone
          <input type="text" value={form.tz} required onInput={(e) => set('tz', (e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Conversion status
          <select value={form.status} onChange={(e) => set('status', (e.target as HTMLSelectElement).value)}>
            <option value="">Approved and pending</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {label(s)} only
              </option>
            ))}
          </select>
        </label>
        {FILTERS.map((f) => (
          <label key={f}>
            {label(f)} ({f === 'country' ? 'ISO codes' : f === 'device_type' ? 'desktop, mobile, …' : 'ids'}, comma-separated)
            <input type="text" value={(form as Record<string, unknown>)[f] as string} onInput={(e) => set(f, (e.target as HTMLInputElement).value)} />
          </label>
        ))}
      </div>
      <fieldset>
        <legend>Group by</legend>
        {DIMENSIONS.map((d) => (
          <label key={d} class="check">
            <input type="checkbox" checked={form.group_by.includes(d)} onChange={() => toggle(d)} /> {label(d)}
          </label>
        ))}
      </fieldset>
      <label class="check">
        <input type="checkbox" checked={form.include_bots} onChange={() => set('include_bots', !form.include_bots)} /> Include bot clicks
      </label>
      <button type="submit">Run report</button>
    </form>
  );
}

function ReportChart({ report, metric, from, to }: { report: Report; metric: Metric; from: string; to: string }) {
  const time = report.group_by.find((d) => d === 'day' || d === 'hour');
  if (report.rows.length === 0) return <Empty>No traffic matches this report.</Empty>;
  const title = `${label(metric)}${time ? ` by ${time}` : report.group_by[0] ? ` by ${label(report.group_by[0])}` : ''}`;
  if (time) {
    const { times, values } = timeSeries(report.rows, time, from, to, (r) => metricOf(r, metric));
    return <Chart title={title} times={times} series={[{ label: label(metric), values, color: '#2563eb' }]} />;
  }
  const dim = report.group_by[0];
  const rows = [...report.rows].sort((a, b) => metricOf(b, metric) - metricOf(a, metric)).slice(0, 20);
  return <Chart title={title} categories={rows.map((r) => (dim ? String(r[dim] ?? '(none)') : 'All'))} series={[{ label: label(metric), values: rows.map((r) => metricOf(r, metric)), color: '#2563eb' }]} />;
}

function ReportTable({ report, me, sort, dir, onSort }: { report: Report; me: Me; sort: string; dir: 'asc' | 'desc'; onSort: (s: string, d: string) => void }) {
  const fields = visibleMoney(me.kind);
  const cols: { id: string; name: string; num: boolean; value: (r: ReportRow) => number | string; show: (r: ReportRow | Report['totals']) => string }[] = [
    ...report.group_by.map((d) => ({ id: d, name: label(d), num: false, value: (r: ReportRow) => String(r[d] ?? ''), show: (r: ReportRow | Report['totals']) => String((r as ReportRow)[d] ?? '(none)') })),
    { id: 'clicks', name: 'Clicks', num: true, value: (r) => r.clicks, show: (r) => count(r.clicks) },
    { id: 'conversions', name: 'Conversions', num: true, value: (r) => r.conversions_total, show: (r) => count(r.conversions_total) },
    { id: 'conversion_rate', name: 'Conversion rate', num: true, value: (r) => r.conversion_rate ?? -1, show: (r) => percent(r.conversion_rate) },
    ...fields.map((f) => ({ id: f, name: label(f), num: true, value: (r: ReportRow) => metricOf(r, f), show: (r: ReportRow | Report['totals']) => money(r.money, f) })),
  ];
  const col = cols.find((c) => c.id === sort) ?? cols[0]!;
  const sorted = [...report.rows].sort((a, b) => {
    const [x, y] = [col.value(a), col.value(b)];
    const cmp = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return dir === 'asc' ? cmp : -cmp;
  });
  return (
    <TableWrap label={'Report table'}>
      <table data-testid="report-table">
        <caption>
          {report.rows.length} rows, {report.from} to {report.to} ({report.tz})
        </caption>
        <thead>
          <tr>
            {cols.map((c) => {
              const active = c.id === col.id;
              return (
                <th key={c.id} scope="col" class={c.num ? 'num' : ''} aria-sort={active ? (dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
                  <button type="button" class="sort" onClick={() => onSort(c.id, active && dir === 'desc' ? 'asc' : 'desc')}>
                    {c.name}
                    <span aria-hidden="true">{active ? (dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {sorted.map((r, i) => (
            <tr key={i}>
              {cols.map((c) => (
                <td key={c.id} class={c.num ? 'num' : ''}>
                  {c.show(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            {cols.map((c, i) => (
              <td key={c.id} class={c.num ? 'num' : ''}>
                {i < report.group_by.length ? (i === 0 ? 'Total' : '') : c.show(report.totals)}
              </td>
            ))}
          </tr>
        </tfoot>
      </table>
    </TableWrap>
  );
}
