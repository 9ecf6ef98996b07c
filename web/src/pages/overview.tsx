import type { Dimension, Me, Report, ReportMetrics, ReportRow } from '../api';
import { Chart } from '../chart';
import { addDays, browserTimeZone, capitalized, change, count, money, percent, today, visibleMoney } from '../format';
import { reportsInTurn, timeSeries } from '../report-query';
import { BASE } from '../router';
import { DataTable } from '../data-table';
import { Empty, Show, useAsync } from '../ui';

const PERIODS = { today: { days: 1, label: 'Today' }, '7d': { days: 7, label: 'Last 7 days' }, '30d': { days: 30, label: 'Last 30 days' } } as const;
type Period = keyof typeof PERIODS;

interface OverviewData {
  series: Report;
  previous: Report;
  campaigns: Report;
  publishers: Report | null;
}

export function Overview({ me, params }: { me: Me; params: URLSearchParams }) {
  const period: Period = (params.get('period') as Period) in PERIODS ? (params.get('period') as Period) : '7d';
  const tz = browserTimeZone();
  const days = PERIODS[period].days;
  const end = addDays(today(tz), 1);
  const from = addDays(end, -days);
  const prevFrom = addDays(from, -days);
  const [data] = useAsync<OverviewData>(async () => {
    const base = { from, to: end, tz };
    const [series, previous, campaigns, publishers] = await reportsInTurn([
      { ...base, group_by: days === 1 ? 'hour' : 'day' },
      { from: prevFrom, to: from, tz },
      { ...base, group_by: 'campaign' },
      ...(me.kind === 'publisher' ? [] : [{ ...base, group_by: 'publisher' }]),
    ]);
    return { series: series!, previous: previous!, campaigns: campaigns!, publishers: publishers ?? null };
  }, `${period}|${tz}|${me.key_id}`);

  return (
    <section aria-labelledby="overview-title">
      <div class="page-head">
        <h1 id="overview-title">Overview</h1>
        <nav aria-label="Period" class="segmented">
          {(Object.keys(PERIODS) as Period[]).map((p) => (
            <a key={p} href={`${BASE}/?period=${p}`} aria-current={p === period ? 'page' : undefined}>
              {PERIODS[p].label}
            </a>
          ))}
        </nav>
      </div>
      <p class="hint">
        {from} to {addDays(end, -1)} in {tz}, compared with the {days === 1 ? 'day' : `${days} days`} before.
      </p>
      <Show value={data} what="the overview">
        {(d) => (
          <>
            <Tiles me={me} now={d.series.totals} before={d.previous.totals} />
            <TimeChart report={d.series} from={from} to={end} />
            <div class="columns">
              <Top title="Top campaigns" dim="campaign" rows={d.campaigns.rows} me={me} />
              {d.publishers && <Top title="Top publishers" dim="publisher" rows={d.publishers.rows} me={me} />}
            </div>
          </>
        )}
      </Show>
    </section>
  );
}

function Tiles({ me, now, before }: { me: Me; now: ReportMetrics; before: ReportMetrics }) {
  const tiles: [string, string, string][] = [
    ['Clicks', count(now.clicks), change(now.clicks, before.clicks)],
    ['Conversions', count(now.conversions_total), change(now.conversions_total, before.conversions_total)],
    ['Conversion rate', percent(now.conversion_rate), `was ${percent(before.conversion_rate)}`],
    ...visibleMoney(me.kind).map((f): [string, string, string] => [capitalized(f), money(now.money, f), `was ${money(before.money, f)}`]),
  ];
  return (
    <dl class="tiles">
      {tiles.map(([label, value, delta]) => (
        <div class="tile" key={label}>
          <dt>{label}</dt>
          <dd class="value" data-testid={`tile-${label.toLowerCase().replace(/ /g, '-')}`}>
            {value}
          </dd>
          <dd class="delta">vs previous period: {delta}</dd>
        </div>
      ))}
    </dl>
  );
}

function TimeChart({ report, from, to }: { report: Report; from: string; to: string }) {
  const dim = report.group_by[0]!;
  if (report.rows.length === 0) return <Empty>No clicks or conversions in this period yet.</Empty>;
  const clicks = timeSeries(report.rows, dim, from, to, (r) => r.clicks);
  const convs = timeSeries(report.rows, dim, from, to, (r) => r.conversions_total);
  return (
    <Chart
      title={`Clicks and conversions by ${dim}`}
      times={clicks.times}
      series={[
        { label: 'Clicks', values: clicks.values, color: '#2563eb' },
        { label: 'Conversions', values: convs.values, color: '#c2410c' },
      ]}
    />
  );
}

function Top({ title, dim, rows, me }: { title: string; dim: Dimension; rows: ReportRow[]; me: Me }) {
  const top = [...rows].sort((a, b) => b.clicks - a.clicks || b.conversions_total - a.conversions_total).slice(0, 5);
  const fields = visibleMoney(me.kind);
  return (
    <section class="card" aria-label={title}>
      <h2>{title}</h2>
      {top.length === 0 ? (
        <Empty>Nothing in this period.</Empty>
      ) : (
        <DataTable
          label={`${title} table`}
          rows={top}
          rowKey={(r) => String(r[dim])}
          columns={[
            { head: capitalized(dim), cell: (r) => String(r[dim] ?? '(none)') },
            { head: 'Clicks', num: true, cell: (r) => count(r.clicks) },
            { head: 'Conversions', num: true, cell: (r) => count(r.conversions_total) },
            ...fields.map((f) => ({ head: capitalized(f), num: true, cell: (r: ReportRow) => money(r.money, f) })),
          ]}
        />
      )}
    </section>
  );
}
