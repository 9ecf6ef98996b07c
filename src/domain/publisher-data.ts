// Collects the publisher's link parameters (sub1…sub10 and any other) into a bounded,
// MongoDB-safe record. Pure and deterministic: imported by workflow code.

export type PublisherDataOptions = {
  /** Most keys kept; further keys are counted in `dropped`. */
  maxParams: number;
  /** Longest value kept, in characters; longer values are cut. */
  maxLength: number;
  /** Parameters that are not publisher data (e.g. pub, asset, sup). */
  exclude: readonly string[];
};

export type PublisherData = { data: Record<string, string>; dropped: number; truncated: boolean };

export const MAX_KEY_LENGTH = 64;

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
// `.` and `$` have meaning in MongoDB field names; NUL is not allowed in BSON keys.
// eslint-disable-next-line no-control-regex
const UNSAFE_KEY_CHARS = /[.$\u0000]/g;

/** Cuts to at most `max` UTF-16 units without leaving half of a surrogate pair. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const n = Math.max(0, Math.floor(max));
  let out = s.slice(0, n);
  const last = out.charCodeAt(out.length - 1);
  if (out.length > 0 && last >= 0xd800 && last <= 0xdbff) out = out.slice(0, -1);
  return out;
}

function stringify(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  try {
    return String(v);
  } catch {
    // e.g. a null-prototype object from a nested query parser
    return '';
  }
}

/**
 * Keeps every link parameter except `exclude`, in input order, up to `maxParams` keys.
 * Keys: `.`/`$` (and NUL) → `_`, cut to 64 characters; empty keys and `__proto__`,
 * `constructor`, `prototype` are dropped, as are later keys that sanitise to a key already kept.
 * Values: arrays → first element, non-strings → String(), cut to `maxLength` characters.
 */
export function collectPublisherData(query: Record<string, unknown>, opts: PublisherDataOptions): PublisherData {
  const data: Record<string, string> = {};
  let kept = 0;
  let dropped = 0;
  let truncated = false;
  if (typeof query !== 'object' || query === null) return { data, dropped, truncated };

  for (const rawKey of Object.keys(query)) {
    if (opts.exclude.includes(rawKey)) continue;
    const safe = rawKey.replace(UNSAFE_KEY_CHARS, '_');
    const key = cut(safe, MAX_KEY_LENGTH);
    if (key === '' || FORBIDDEN_KEYS.has(key) || Object.hasOwn(data, key)) {
      dropped++;
      continue;
    }
    if (kept >= opts.maxParams) {
      dropped++;
      continue;
    }
    const raw = query[rawKey];
    const full = stringify(Array.isArray(raw) ? (raw as unknown[])[0] : raw);
    const value = cut(full, opts.maxLength);
    if (key !== safe || value !== full) truncated = true;
    data[key] = value;
    kept++;
  }
  return { data, dropped, truncated };
}
