import { canonicalTimeZone, localTime, startOfLocalDay, timeBuckets } from '../../src/http/api/report-time';

const iso = (d: Date | null) => d?.toISOString() ?? null;
const day = (s: string) => {
  const [year, month, d] = s.split('-').map(Number) as [number, number, number];
  return { year, month, day: d };
};

test('local days in Paris across the spring-forward night are 23 hours long', () => {
  const b = timeBuckets(new Date('2024-03-30T23:00:00Z'), new Date('2024-04-01T22:00:00Z'), 'Europe/Paris', { day: true, hour: false });
  expect(b.map((x) => [x.day, iso(x.start), iso(x.end)])).toEqual([
    ['2024-03-31', '2024-03-30T23:00:00.000Z', '2024-03-31T22:00:00.000Z'],
    ['2024-04-01', '2024-03-31T22:00:00.000Z', '2024-04-01T22:00:00.000Z'],
  ]);
});

test('the repeated hour of a fall-back night is two buckets told apart by their offset', () => {
  const b = timeBuckets(new Date('2024-10-27T00:00:00Z'), new Date('2024-10-27T02:00:00Z'), 'Europe/Paris', { day: false, hour: true });
  expect(b.map((x) => x.hour)).toEqual(['2024-10-27T02:00+02:00', '2024-10-27T02:00+01:00']);
});

test('quarter-hour offsets cut days exactly (Kathmandu is UTC+05:45)', () => {
  const b = timeBuckets(new Date('2024-03-01T00:00:00Z'), new Date('2024-03-02T00:00:00Z'), 'Asia/Kathmandu', { day: true, hour: false });
  expect(b.map((x) => [x.day, iso(x.end)])).toEqual([
    ['2024-03-01', '2024-03-01T18:15:00.000Z'],
    ['2024-03-02', '2024-03-02T00:00:00.000Z'],
  ]);
});

test('buckets cover the range without gaps, even when it starts off a quarter-hour', () => {
  const from = new Date('2024-05-01T10:07:13Z');
  const to = new Date('2024-05-03T04:59:59Z');
  const b = timeBuckets(from, to, 'America/New_York', { day: true, hour: true });
  expect(b[0]!.start).toEqual(from);
  expect(b[b.length - 1]!.end).toEqual(to);
  for (let i = 1; i < b.length; i++) expect(b[i]!.start).toEqual(b[i - 1]!.end);
  expect(new Set(b.map((x) => x.hour)).size).toBe(b.length);
  expect(b.every((x) => x.hour!.startsWith(x.day!))).toBe(true);
});

test('a local day starts at its first instant, also when midnight does not exist', () => {
  expect(iso(startOfLocalDay(day('2024-03-10'), 'Europe/Paris'))).toBe('2024-03-09T23:00:00.000Z');
  expect(iso(startOfLocalDay(day('2024-07-10'), 'Europe/Paris'))).toBe('2024-07-09T22:00:00.000Z');
  // Brazil's 2018 DST began at midnight: the 4th of November started at 01:00 local (03:00Z).
  expect(iso(startOfLocalDay(day('2018-11-04'), 'America/Sao_Paulo'))).toBe('2018-11-04T03:00:00.000Z');
  expect(localTime(new Date('2024-03-10T23:10:00Z'), 'Europe/Paris')).toEqual({ day: '2024-03-11', dayNumber: 20240311, hour: '2024-03-11T00:00+01:00', offsetMinutes: 60 });
});

test('a day a zone skipped has no start (Samoa went from 29 to 31 December 2011), found in bounded work', () => {
  expect(startOfLocalDay(day('2011-12-30'), 'Pacific/Apia')).toBeNull();
  expect(iso(startOfLocalDay(day('2011-12-31'), 'Pacific/Apia'))).toBe('2011-12-30T10:00:00.000Z');
});

test('time zones are checked against the runtime and canonicalised, so spellings of one zone are one zone', () => {
  expect(canonicalTimeZone('Europe/Paris')).toBe('Europe/Paris');
  expect(canonicalTimeZone('europe/PARIS')).toBe('Europe/Paris');
  expect(canonicalTimeZone('utc')).toBe('UTC');
  expect(canonicalTimeZone('Mars/Olympus')).toBeNull();
  expect(canonicalTimeZone('')).toBeNull();
});

/** The plain walk over every quarter-hour: slow, obviously right; the reference for the fast cuts. */
function referenceBuckets(from: Date, to: Date, tz: string, by: { day: boolean; hour: boolean }) {
  const out: { day?: string; hour?: string; start: string; end: string }[] = [];
  const label = (t: number) => {
    const lt = localTime(new Date(t), tz);
    return { ...(by.day ? { day: lt.day } : {}), ...(by.hour ? { hour: lt.hour } : {}) };
  };
  let start = from.getTime();
  let current = label(start);
  for (let t = Math.floor(start / 900_000) * 900_000 + 900_000; t < to.getTime(); t += 900_000) {
    const next = label(t);
    if (next.day !== current.day || next.hour !== current.hour) {
      out.push({ ...current, start: new Date(start).toISOString(), end: new Date(t).toISOString() });
      start = t;
      current = next;
    }
  }
  if (start < to.getTime()) out.push({ ...current, start: new Date(start).toISOString(), end: to.toISOString() });
  return out;
}

test('the guessed cuts are the quarter-hour walk, across DST nights, odd offsets and skipped days', () => {
  const zones = ['Europe/Paris', 'America/New_York', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Sao_Paulo', 'Pacific/Apia', 'Asia/Tehran', 'UTC', 'America/St_Johns'];
  const ranges: [string, string][] = [
    ['2024-03-01T00:00:00Z', '2024-04-15T00:00:00Z'],
    ['2024-09-25T00:00:00Z', '2024-11-10T00:00:00Z'],
    ['2011-12-20T10:07:13Z', '2012-01-05T00:00:00Z'],
    ['2018-10-25T00:00:00Z', '2018-11-10T23:59:59Z'],
  ];
  for (const tz of zones) {
    for (const [a, b] of ranges) {
      const fast = timeBuckets(new Date(a), new Date(b), tz, { day: true, hour: false }).map((x) => ({ day: x.day, start: iso(x.start), end: iso(x.end) }));
      expect([tz, a, fast]).toEqual([tz, a, referenceBuckets(new Date(a), new Date(b), tz, { day: true, hour: false })]);
    }
    const [a, b] = ['2024-03-28T00:00:00Z', '2024-04-10T00:00:00Z'];
    const hourly = timeBuckets(new Date(a), new Date(b), tz, { day: true, hour: true }).map((x) => ({ day: x.day, hour: x.hour, start: iso(x.start), end: iso(x.end) }));
    expect([tz, hourly]).toEqual([tz, referenceBuckets(new Date(a), new Date(b), tz, { day: true, hour: true })]);
    const autumn = ['2024-09-27T00:00:00Z', '2024-10-08T00:00:00Z'] as const;
    const hoursOnly = timeBuckets(new Date(autumn[0]), new Date(autumn[1]), tz, { day: false, hour: true }).map((x) => ({ hour: x.hour, start: iso(x.start), end: iso(x.end) }));
    expect([tz, hoursOnly]).toEqual([tz, referenceBuckets(new Date(autumn[0]), new Date(autumn[1]), tz, { day: false, hour: true })]);
  }
});

test('a year of local days is cut with a few formatter calls per day, not one per quarter-hour', () => {
  const spy = jest.spyOn(Intl.DateTimeFormat.prototype, 'formatToParts');
  timeBuckets(new Date('2024-01-01T00:00:00Z'), new Date('2025-01-01T00:00:00Z'), 'Europe/Paris', { day: true, hour: false });
  const calls = spy.mock.calls.length;
  spy.mockRestore();
  expect(calls).toBeLessThan(366 * 4 + 2 * 100);
});
