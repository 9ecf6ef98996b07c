import { isTimeZone, localTime, startOfLocalDay } from '../../src/http/api/report-time';

const iso = (d: Date) => d.toISOString();

test('a local day starts at its first instant, also when midnight does not exist', () => {
  expect(iso(startOfLocalDay('2024-03-10', 'Europe/Paris'))).toBe('2024-03-09T23:00:00.000Z');
  expect(iso(startOfLocalDay('2024-07-10', 'Europe/Paris'))).toBe('2024-07-09T22:00:00.000Z');
  // Brazil's 2018 DST began at midnight: the 4th of November started at 01:00 local (03:00Z).
  expect(iso(startOfLocalDay('2018-11-04', 'America/Sao_Paulo'))).toBe('2018-11-04T03:00:00.000Z');
  expect(localTime(new Date('2024-03-10T23:10:00Z'), 'Europe/Paris')).toEqual({ day: '2024-03-11', hour: '2024-03-11T00:00+01:00', offsetMinutes: 60 });
});

test('time zones are checked against the runtime', () => {
  expect(isTimeZone('Europe/Paris')).toBe(true);
  expect(isTimeZone('UTC')).toBe(true);
  expect(isTimeZone('Mars/Olympus')).toBe(false);
});
