import { LRUCache } from 'lru-cache';

// Local days of an IANA time zone, for a report's `from`/`to` given as plain dates (the grouping by
// local day and hour is the database's $dateToString). Every UTC offset in use today is a multiple
// of 15 minutes (+05:45, +08:45, -09:30…), so a local day always starts on a UTC quarter-hour.

const QUARTER_MS = 15 * 60_000;
/** How far (in quarter-hours, each way) the start of a day may be from its first estimate. */
const MAX_SETTLE_STEPS = 16;
// Keyed by canonical names only, and bounded: a caller cannot grow it with spellings of a zone.
const formatters = new LRUCache<string, Intl.DateTimeFormat>({ max: 64 });

/** The runtime's canonical name of an IANA time zone (`europe/PARIS` → `Europe/Paris`), or null. */
export function canonicalTimeZone(tz: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return null;
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
  /** The day as a number (20240310), for comparisons. */
  dayNumber: number;
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
  const dayNumber = Number(parts.year) * 10_000 + Number(parts.month) * 100 + Number(parts.day);
  return { day, dayNumber, hour: `${day}T${parts.hour}:00${offset}`, offsetMinutes };
}

/**
 * The instant a local calendar day starts in `tz` (the first instant carrying that date), or null
 * when it is not within a few hours of its estimate (a day a zone skipped). The caller has checked
 * that the date is a real calendar day; the work here is bounded whatever it is.
 */
export function startOfLocalDay(date: { year: number; month: number; day: number }, tz: string): Date | null {
  const target = date.year * 10_000 + date.month * 100 + date.day;
  const wall = Date.UTC(date.year, date.month - 1, date.day);
  let t = wall;
  for (let i = 0; i < 3; i++) t = wall - localTime(new Date(t), tz).offsetMinutes * 60_000;
  // Near a transition the estimate can land an hour off either way: settle on quarter-hours.
  let steps = 0;
  while (localTime(new Date(t - QUARTER_MS), tz).dayNumber >= target) {
    if (++steps > MAX_SETTLE_STEPS) return null;
    t -= QUARTER_MS;
  }
  steps = 0;
  while (localTime(new Date(t), tz).dayNumber < target) {
    if (++steps > MAX_SETTLE_STEPS) return null;
    t += QUARTER_MS;
  }
  return localTime(new Date(t), tz).dayNumber === target ? new Date(t) : null;
}
