import { canonicalTimeZone, localTime, startOfLocalDay } from '../../src/reports/time';

const iso = (d: Date | null) => d?.toISOString() ?? null;
const day = (s: string) => {
  const [year, month, d] = s.split('-').map(Number) as [number, number, number];
  return { year, month, day: d };
};

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
