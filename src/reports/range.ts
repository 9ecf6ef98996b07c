import { z } from 'zod';
import { startOfLocalDay } from './time';
import { ValidationError } from '../http/api/validation';

// A report's `from` and `to`, checked in constant time before any work: a real calendar day in a
// bounded span of years, so nothing downstream (time-zone resolution, day and hour buckets) can be
// made to walk centuries.

export const MIN_YEAR = 2000;
export const MAX_YEAR = 2100;
const DAY_MS = 86_400_000;

export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

export type ReportInstant = ({ kind: 'date' } & CalendarDate) | { kind: 'instant'; at: Date };

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T/;
const FORMS = 'a date (YYYY-MM-DD, a local day in tz) or an ISO 8601 date-time with offset (2024-03-01T00:00:00+01:00)';
const isoDateTime = z.iso.datetime({ offset: true });

function calendarProblem({ year, month, day }: CalendarDate): string | null {
  if (year < MIN_YEAR || year > MAX_YEAR) return `the year must be between ${MIN_YEAR} and ${MAX_YEAR}`;
  if (month < 1 || month > 12) return 'the month must be 01 to 12';
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > days) return `the day must be 01 to ${days} in that month`;
  return null;
}

/** Parses one bound, or says what is wrong with it. */
export function parseReportInstant(value: string): ReportInstant | string {
  const date = DATE_RE.exec(value);
  const prefix = date ?? DATE_TIME_RE.exec(value);
  if (!prefix) return `must be ${FORMS}`;
  const calendar = { year: Number(prefix[1]), month: Number(prefix[2]), day: Number(prefix[3]) };
  const problem = calendarProblem(calendar);
  if (problem) return `${problem} (got ${value.slice(0, 10)})`;
  if (date) return { kind: 'date', ...calendar };
  if (!isoDateTime.safeParse(value).success) return `must be ${FORMS}`;
  return { kind: 'instant', at: new Date(value) };
}

export const reportInstant = z
  .string()
  .max(40, `must be ${FORMS}`)
  .transform((value, ctx) => {
    const parsed = parseReportInstant(value);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    }
    return parsed;
  });

const calendarDay = (d: CalendarDate) => Date.UTC(d.year, d.month - 1, d.day) / DAY_MS;

function resolve(value: ReportInstant, tz: string, path: string): Date {
  if (value.kind === 'instant') return value.at;
  const start = startOfLocalDay(value, tz);
  if (!start) throw new ValidationError([{ path, message: `that day does not exist in ${tz} (the zone skipped it)` }]);
  return start;
}

/**
 * `[from, to)` as instants, at most `maxDays` long. Two plain dates are checked as calendar days
 * before any time-zone work; date-times after (their resolution is a fixed amount of work).
 */
export function reportRange(from: ReportInstant, to: ReportInstant, tz: string, maxDays: number, why = ''): { from: Date; to: Date } {
  const tooLong = () => new ValidationError([{ path: 'from', message: `the range may span at most ${maxDays} days${why}` }]);
  const notAfter = () => new ValidationError([{ path: 'to', message: 'must be after from' }]);
  if (from.kind === 'date' && to.kind === 'date') {
    const days = calendarDay(to) - calendarDay(from);
    if (days <= 0) throw notAfter();
    if (days > maxDays) throw tooLong();
    return { from: resolve(from, tz, 'from'), to: resolve(to, tz, 'to') };
  }
  const range = { from: resolve(from, tz, 'from'), to: resolve(to, tz, 'to') };
  if (range.to <= range.from) throw notAfter();
  if (range.to.getTime() - range.from.getTime() > maxDays * DAY_MS) throw tooLong();
  return range;
}
