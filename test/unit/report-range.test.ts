import { parseReportInstant, reportRange, type ReportInstant } from '../../src/reports/range';
import { ValidationError } from '../../src/http/api/validation';

const parsed = (v: string): ReportInstant => {
  const p = parseReportInstant(v);
  if (typeof p === 'string') throw new Error(`${v}: ${p}`);
  return p;
};

function problem(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.fields;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

test('only real calendar days of 2000 to 2100 are dates, each refusal saying why', () => {
  expect(parseReportInstant('2024-02-29')).toEqual({ kind: 'date', year: 2024, month: 2, day: 29 });
  expect(parseReportInstant('2024-03-01T00:00:00+01:00')).toEqual({ kind: 'instant', at: new Date('2024-02-29T23:00:00Z') });
  expect(parseReportInstant('1000-01-01')).toBe('the year must be between 2000 and 2100 (got 1000-01-01)');
  expect(parseReportInstant('0001-01-01')).toMatch(/^the year must be between 2000 and 2100/);
  expect(parseReportInstant('9999-13-01')).toMatch(/^the year must be between 2000 and 2100/);
  expect(parseReportInstant('2024-13-01')).toBe('the month must be 01 to 12 (got 2024-13-01)');
  expect(parseReportInstant('2024-99-99')).toMatch(/^the month must be 01 to 12/);
  expect(parseReportInstant('2023-02-29')).toBe('the day must be 01 to 28 in that month (got 2023-02-29)');
  expect(parseReportInstant('2024-04-31')).toMatch(/^the day must be 01 to 30/);
  expect(parseReportInstant('2024-01-00')).toMatch(/^the day must be 01 to 31/);
  expect(parseReportInstant('0001-01-01T00:00:00Z')).toMatch(/^the year must be between/);
  expect(parseReportInstant('2024-01-01T25:00:00Z')).toMatch(/^must be a date/);
  expect(parseReportInstant('2024-01-01T00:00:00')).toMatch(/^must be a date/);
  for (const v of ['yesterday', '', '+002024-01-01', '2024-1-1', '20240101', '2024-01-01 ']) expect(parseReportInstant(v)).toMatch(/^must be a date/);
});

test('two dates are checked as calendar days before any time zone is looked at', () => {
  expect(problem(() => reportRange(parsed('2024-03-10'), parsed('2024-03-10'), 'UTC', 366))).toEqual([{ path: 'to', message: 'must be after from' }]);
  expect(problem(() => reportRange(parsed('2000-01-01'), parsed('2100-12-31'), 'UTC', 366))).toEqual([{ path: 'from', message: 'the range may span at most 366 days' }]);
  expect(problem(() => reportRange(parsed('2024-01-01'), parsed('2024-02-02'), 'UTC', 31, ' when grouped by hour'))).toEqual([
    { path: 'from', message: 'the range may span at most 31 days when grouped by hour' },
  ]);
  // 366 calendar days from summer to winter time are 366 days and an hour: still allowed.
  const r = reportRange(parsed('2024-07-01'), parsed('2025-07-02'), 'Europe/Paris', 366);
  expect([r.from.toISOString(), r.to.toISOString()]).toEqual(['2024-06-30T22:00:00.000Z', '2025-07-01T22:00:00.000Z']);
});

test('date-times and mixed bounds are checked as instants; a day the zone skipped is a 400 naming the bound', () => {
  expect(problem(() => reportRange(parsed('2024-03-10T00:00:00Z'), parsed('2024-03-09'), 'UTC', 366))).toEqual([{ path: 'to', message: 'must be after from' }]);
  expect(problem(() => reportRange(parsed('2024-01-01T00:00:00Z'), parsed('2025-01-01T00:00:01Z'), 'UTC', 366))).toEqual([{ path: 'from', message: 'the range may span at most 366 days' }]);
  expect(problem(() => reportRange(parsed('2011-12-30'), parsed('2012-01-02'), 'Pacific/Apia', 366))).toEqual([
    { path: 'from', message: 'that day does not exist in Pacific/Apia (the zone skipped it)' },
  ]);
});
