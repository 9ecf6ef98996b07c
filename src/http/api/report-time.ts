// Local days of an IANA time zone, for a report's `from`/`to` given as plain dates (the grouping by
// local day and hour is the database's $dateToString). Every UTC offset in use today is a multiple
// of 15 minutes (+05:45, +08:45, -09:30…), so a local day always starts on a UTC quarter-hour.

const QUARTER_MS = 15 * 60_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    formatters.set(tz, f);
  }
  return f;
}

export interface LocalTime {
  day: string;
  /** `2024-03-31T02:00+02:00`: the offset keeps the repeated hour of a DST fall-back apart. */
  hour: string;
  offsetMinutes: number;
}

export function localTime(at: Date, tz: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(at)) parts[p.type] = p.value;
  const m = /GMT(?:([+-])(\d{2}):(\d{2}))?/.exec(parts.timeZoneName ?? '');
  const offsetMinutes = m?.[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  const day = `${parts.year}-${parts.month}-${parts.day}`;
  return { day, hour: `${day}T${parts.hour}:00${offset}`, offsetMinutes };
}

/** The instant a local calendar day (`YYYY-MM-DD`) starts in `tz` (the first instant carrying that date). */
export function startOfLocalDay(date: string, tz: string): Date {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, mo - 1, d);
  let t = wall;
  for (let i = 0; i < 3; i++) t = wall - localTime(new Date(t), tz).offsetMinutes * 60_000;
  // Near a transition the estimate can land an hour off either way: settle on quarter-hours.
  while (localTime(new Date(t - QUARTER_MS), tz).day >= date) t -= QUARTER_MS;
  while (localTime(new Date(t), tz).day < date) t += QUARTER_MS;
  return new Date(t);
}
