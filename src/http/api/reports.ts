import { z } from 'zod';
import type { AppDeps } from '../../app';
import { HttpError } from '../http-error';
import { serverTiming } from '../server-timing';
import { account } from './principal';
import { FILTERS, loadFacts, type FactQuery, type FilterName } from '../../reports/raw-facts';
import { KeyConcurrency, RowCap } from '../../reports/limits';
import { loadRollupFacts } from '../../reports/rollup-facts';
import { DIMENSIONS, buildReport, reportCsv, type MoneyVisibility } from '../../reports/model';
import { reportInstant, reportRange } from '../../reports/range';
import { canonicalTimeZone } from '../../reports/time';
import { TimeBudget } from './query-budget';
import { ALL_KINDS, ApiRouter, type RouteDoc } from './route';
import { countrySchema, csvList, documented, idSchema, textSchema } from './schemas';
import { ValidationError, unprocessable } from './validation';

const MAX_DAYS = 366;
const QUARTER_MS = 15 * 60_000;
const MAX_HOURLY_DAYS = 31;

// Real calendar days only (29 February left out), so no format check has to filter what the pattern makes.
const DAY = '(?:20[0-9]{2}|2100)-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))';
const TIME = 'T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,3})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])';
documented(reportInstant, {
  anyOf: [
    { type: 'string', pattern: `^${DAY}$` },
    { type: 'string', pattern: `^${DAY}${TIME}$` },
  ],
  description: 'A day (YYYY-MM-DD, its start in tz) or an ISO 8601 date-time with offset, in the years 2000 to 2100',
});

export const reportQuery = z.strictObject({
  group_by: csvList(z.enum(DIMENSIONS)).optional(),
  /** Inclusive start; a plain date is that day's start in `tz`. */
  from: reportInstant,
  /** Exclusive end; a plain date is that day's start in `tz`. */
  to: reportInstant,
  /** Canonicalised (`europe/paris` → `Europe/Paris`). */
  tz: documented(z
    .string()
    .max(64, 'must be an IANA time zone such as Europe/Paris')
    .default('UTC')
    .transform((tz, ctx) => {
      const canonical = canonicalTimeZone(tz);
      if (canonical) return canonical;
      ctx.addIssue({ code: 'custom', message: 'must be an IANA time zone such as Europe/Paris' });
      return z.NEVER;
    }), { type: 'string', enum: [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])], default: 'UTC', description: 'An IANA time zone (case does not matter)' }),
  include_bots: z.enum(['true', 'false']).default('false'),
  /** false: duplicate clicks (and their conversions) are left out like bots. */
  include_duplicates: z.enum(['true', 'false']).default('true'),
  /** Conversion statuses counted (default approved and pending). */
  status: csvList(z.enum(['approved', 'pending', 'rejected'])).optional(),
  format: z.enum(['json', 'csv']).default('json'),
  campaign: csvList(idSchema).optional(),
  advertiser: csvList(idSchema).optional(),
  publisher: csvList(idSchema).optional(),
  asset: csvList(idSchema).optional(),
  support: csvList(idSchema).optional(),
  country: csvList(countrySchema).optional(),
  device_type: csvList(textSchema(32, 1)).optional(),
});

// What GET /reports answers (src/reports/model.ts builds it): the money a key may not see is left out.
const minor = z.number().int();
const decimal = z.string().regex(/^-?[0-9]+(?:\.[0-9]+)?$/);
const metrics = {
  clicks: z.number().int(),
  bot_clicks: z.number().int(),
  /** Per event name. */
  conversions: z.record(z.string(), z.number().int()),
  conversions_total: z.number().int(),
  conversion_rate: z.number().nullable(),
  /** One entry per currency: amounts of different currencies are never added together. */
  money: z.array(
    z
      .object({
        currency: z.string(),
        payout_minor: minor.optional(),
        payout: decimal.optional(),
        revenue_minor: minor.optional(),
        revenue: decimal.optional(),
        profit_minor: minor.optional(),
        profit: decimal.optional(),
        epc: decimal.nullable().optional(),
      })
      .meta({ title: 'ReportMoney' }),
  ),
};
const reportResponse = z
  .object({
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    tz: z.string(),
    group_by: z.array(z.enum(DIMENSIONS)),
    include_bots: z.boolean(),
    include_duplicates: z.boolean(),
    source: z.enum(['rollups', 'raw']),
    statuses: z.array(z.enum(['approved', 'pending', 'rejected'])),
    /** Each row has the grouped dimensions' values (null: none) and the metrics. */
    rows: z.array(z.object({ ...Object.fromEntries(DIMENSIONS.map((d) => [d, z.string().nullable().optional()])), ...metrics }).meta({ title: 'ReportRow' })),
    totals: z.object(metrics).meta({ title: 'ReportTotals' }),
  })
  .meta({ title: 'Report' });

/** A range the document allows but the server cannot serve (too long, `to` not after `from`, a skipped day) is a 422. */
function asUnprocessable<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof ValidationError ? unprocessable(err.fields) : err;
  }
}

/** GET /reports: clicks, conversions and money by any dimensions, in the caller's time zone. */
export function reportsRouter(registry: RouteDoc[], deps: AppDeps) {
  const api = new ApiRouter(registry, 'reports');
  const { REPORT_MAX_DIMENSIONS, REPORT_MAX_ROWS, REPORT_TIME_BUDGET_MS, REPORT_MAX_CONCURRENT_PER_KEY } = deps.config;
  const concurrency = new KeyConcurrency(REPORT_MAX_CONCURRENT_PER_KEY);
  api.route(
    'get',
    '/reports',
    { summary: 'Clicks, bot clicks, conversions per event, conversion rate, payout, revenue, profit and EPC by dimensions; JSON or CSV', kinds: ALL_KINDS, query: reportQuery, produces: ['text/csv'], response: reportResponse },
    async ({ principal, query, res }) => {
      const groupBy = [...new Set(query.group_by ?? [])];
      const plain = groupBy.filter((d) => d !== 'day' && d !== 'hour');
      if (plain.length > REPORT_MAX_DIMENSIONS) {
        throw unprocessable([{ path: 'group_by', message: `at most ${REPORT_MAX_DIMENSIONS} dimensions besides day and hour (REPORT_MAX_DIMENSIONS); got ${plain.length}` }]);
      }
      const hourly = groupBy.includes('hour');
      const { from, to } = asUnprocessable(() => reportRange(query.from, query.to, query.tz, hourly ? MAX_HOURLY_DAYS : MAX_DAYS, hourly ? ' when grouped by hour' : ''));

      const filters: [FilterName, string[]][] = FILTERS.flatMap((f): [FilterName, string[]][] => (query[f] ? [[f, query[f]!]] : []));
      // A scoped key's reports are always cut to its own traffic, whatever else it asks for.
      if (principal.kind === 'advertiser') filters.push(['advertiser', [account(principal)]]);
      if (principal.kind === 'publisher') filters.push(['publisher', [account(principal)]]);
      const show: MoneyVisibility = { payout: principal.kind !== 'advertiser', revenue: principal.kind !== 'publisher' };
      const includeBots = query.include_bots === 'true';
      const includeDuplicates = query.include_duplicates === 'true';

      const release = concurrency.enter(principal.keyId);
      if (!release) {
        res.set('Retry-After', '1');
        throw new HttpError(429, `at most ${REPORT_MAX_CONCURRENT_PER_KEY} reports at once per API key (REPORT_MAX_CONCURRENT_PER_KEY); retry when one has finished`);
      }
      // Nothing has happened after the current quarter-hour: reading a future range would only cost
      // (the rollup reader queries each quarter-hour past its frontier one by one).
      const until = new Date(Math.max(from.getTime(), Math.min(to.getTime(), Math.ceil(Date.now() / QUARTER_MS) * QUARTER_MS)));
      const factQuery: FactQuery = { groupBy, from, to: until, tz: query.tz, includeBots, includeDuplicates, statuses: query.status ?? ['approved', 'pending'], filters, rowCap: new RowCap(REPORT_MAX_ROWS) };
      let facts: Awaited<ReturnType<typeof loadFacts>>;
      let source: 'rollups' | 'raw' = 'rollups';
      const started = performance.now();
      const budget = new TimeBudget(REPORT_TIME_BUDGET_MS, `the report took longer than ${REPORT_TIME_BUDGET_MS} ms (REPORT_TIME_BUDGET_MS); narrow the range, add filters or group by fewer dimensions`);
      try {
        factQuery.budget = budget;
        const fromRollups = await loadRollupFacts(factQuery);
        if (!fromRollups) source = 'raw';
        facts = fromRollups ?? (await loadFacts(factQuery));
      } finally {
        release();
      }
      const loaded = performance.now();
      const report = buildReport(groupBy, facts.clicks, facts.conversions, { includeBots, show });
      // Where the time went: the key's lookup, waiting on the database, adding up what it sent, building the rows.
      const { ms: dbMs, queries, documents } = budget.spent;
      res.set(
        'Server-Timing',
        serverTiming([
          { name: 'auth', ms: typeof res.locals.authMs === 'number' ? res.locals.authMs : 0 },
          { name: 'db', ms: dbMs, desc: `${queries} reads of ${documents} documents` },
          { name: 'facts', ms: loaded - started, desc: source },
          { name: 'build', ms: performance.now() - loaded, desc: `${report.rows.length} rows` },
        ]),
      );
      if (query.format === 'csv') {
        res.status(200).type('text/csv; charset=utf-8').set('Content-Disposition', 'attachment; filename="report.csv"').send(reportCsv(groupBy, report.rows, show));
        return undefined;
      }
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        tz: query.tz,
        group_by: groupBy,
        include_bots: includeBots,
        include_duplicates: includeDuplicates,
        /** rollups; raw for a range not on quarter-hours or dimensions no rollup holds together. */
        source,
        statuses: factQuery.statuses,
        rows: report.rows,
        totals: report.totals,
      };
    },
  );
  return api.router;
}
