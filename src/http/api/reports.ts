import { z } from 'zod';
import { account } from './principal';
import { FILTERS, loadFacts, type FactQuery, type FilterName } from './report-data';
import { DIMENSIONS, buildReport, reportCsv, type MoneyVisibility } from './report-model';
import { isTimeZone, startOfLocalDay } from './report-time';
import { ALL_KINDS, ApiRouter, type RouteDoc } from './route';
import { countrySchema, csvList, idSchema } from './schemas';
import { ValidationError } from './validation';

const DAY_MS = 86_400_000;
const MAX_DAYS = 366;
const MAX_HOURLY_DAYS = 31;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

const instant = z.union([
  z.string().regex(DATE_RE),
  z.iso.datetime({ offset: true }),
], { error: 'must be a date (YYYY-MM-DD, a local day in tz) or an ISO 8601 date-time with offset' });

export const reportQuery = z.strictObject({
  group_by: csvList(z.enum(DIMENSIONS)).optional(),
  /** Inclusive start; a plain date is that day's start in `tz`. */
  from: instant,
  /** Exclusive end; a plain date is that day's start in `tz`. */
  to: instant,
  tz: z.string().default('UTC').refine(isTimeZone, 'must be an IANA time zone such as Europe/Paris'),
  include_bots: z.enum(['true', 'false']).default('false'),
  /** Conversion statuses counted (default approved and pending). */
  status: csvList(z.enum(['approved', 'pending', 'rejected'])).optional(),
  format: z.enum(['json', 'csv']).default('json'),
  campaign: csvList(idSchema).optional(),
  advertiser: csvList(idSchema).optional(),
  publisher: csvList(idSchema).optional(),
  asset: csvList(idSchema).optional(),
  support: csvList(idSchema).optional(),
  country: csvList(countrySchema).optional(),
  device_type: csvList(z.string().min(1).max(32)).optional(),
});

function resolve(value: string, tz: string): Date {
  return DATE_RE.test(value) ? startOfLocalDay(value, tz) : new Date(value);
}

/** GET /reports: clicks, conversions and money by any dimensions, in the caller's time zone. */
export function reportsRouter(registry: RouteDoc[]) {
  const api = new ApiRouter(registry, 'reports');
  api.route(
    'get',
    '/reports',
    { summary: 'Clicks, bot clicks, conversions per event, conversion rate, payout, revenue, profit and EPC by dimensions; JSON or CSV', kinds: ALL_KINDS, query: reportQuery, produces: ['text/csv'] },
    async ({ principal, query, res }) => {
      const groupBy = [...new Set(query.group_by ?? [])];
      const from = resolve(query.from, query.tz);
      const to = resolve(query.to, query.tz);
      if (Number.isNaN(from.getTime())) throw new ValidationError([{ path: 'from', message: 'is not a valid date' }]);
      if (Number.isNaN(to.getTime())) throw new ValidationError([{ path: 'to', message: 'is not a valid date' }]);
      if (to <= from) throw new ValidationError([{ path: 'to', message: 'must be after from' }]);
      const maxDays = groupBy.includes('hour') ? MAX_HOURLY_DAYS : MAX_DAYS;
      if (to.getTime() - from.getTime() > maxDays * DAY_MS) {
        throw new ValidationError([{ path: 'from', message: `the range may span at most ${maxDays} days${groupBy.includes('hour') ? ' when grouped by hour' : ''}` }]);
      }

      const filters: [FilterName, string[]][] = FILTERS.flatMap((f): [FilterName, string[]][] => (query[f] ? [[f, query[f]!]] : []));
      // A scoped key's reports are always cut to its own traffic, whatever else it asks for.
      if (principal.kind === 'advertiser') filters.push(['advertiser', [account(principal)]]);
      if (principal.kind === 'publisher') filters.push(['publisher', [account(principal)]]);
      const show: MoneyVisibility = { payout: principal.kind !== 'advertiser', revenue: principal.kind !== 'publisher' };
      const includeBots = query.include_bots === 'true';

      const factQuery: FactQuery = { groupBy, from, to, tz: query.tz, includeBots, statuses: query.status ?? ['approved', 'pending'], filters };
      const facts = await loadFacts(factQuery);
      const report = buildReport(groupBy, facts.clicks, facts.conversions, { includeBots, show });
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
        statuses: factQuery.statuses,
        rows: report.rows,
        totals: report.totals,
      };
    },
  );
  return api.router;
}
