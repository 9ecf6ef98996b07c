// Money is never a float: an amount is an integer number of minor units (cents, fils, yen)
// plus an ISO 4217 currency code. Pure and deterministic: imported by workflow code.

let currencies: ReadonlySet<string> | undefined;
const digitsCache = new Map<string, number>();

const AMOUNT_RE = /^(\d{1,13})(?:\.(\d+))?$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * No single reported amount may exceed this many minor units (10 billion in a two-digit currency).
 * With percent rules capped at MAX_PERCENT_BASIS_POINTS, every payout and revenue stays below 10^13,
 * so sums of up to ~900 of them are still exact JS integers (reports sum in BigInt anyway).
 */
export const MAX_AMOUNT_MINOR = 1_000_000_000_000;
/** A percent rule pays at most 1000 % of the amount. */
export const MAX_PERCENT_BASIS_POINTS = 100_000;

/** True for an upper-case three-letter code the runtime knows as an ISO 4217 currency. */
export function isCurrency(code: string): boolean {
  if (typeof code !== 'string' || !/^[A-Z]{3}$/.test(code)) return false;
  currencies ??= new Set(Intl.supportedValuesOf('currency'));
  return currencies.has(code);
}

/**
 * Number of minor-unit digits of a currency (JPY 0, USD 2, KWD 3).
 * Throws a RangeError for anything `isCurrency` rejects: callers validate first.
 */
export function minorDigits(currency: string): number {
  const cached = digitsCache.get(currency);
  if (cached !== undefined) return cached;
  if (!isCurrency(currency)) throw new RangeError(`${JSON.stringify(currency)} is not an ISO 4217 currency code`);
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  digitsCache.set(currency, digits);
  return digits;
}

export type ParsedAmount = { ok: true; minor: number } | { ok: false; reason: string };

/**
 * Parses a non-negative decimal string ("12.50", "7", "10.5000") into minor units of `currency`.
 * No sign, exponent, thousands separator or bare leading/trailing point. Extra fractional digits
 * beyond the currency's precision are accepted only when they are zeros.
 */
export function parseAmount(raw: string, currency: string): ParsedAmount {
  if (typeof raw !== 'string') return { ok: false, reason: 'is not a string' };
  if (!isCurrency(currency)) return { ok: false, reason: `${JSON.stringify(currency)} is not an ISO 4217 currency code` };
  const m = AMOUNT_RE.exec(raw.trim());
  if (!m) return { ok: false, reason: 'must be a non-negative decimal number such as 12.50' };
  const intPart = m[1] ?? '0';
  const fracPart = m[2] ?? '';
  const digits = minorDigits(currency);
  if (fracPart.length > digits && !/^0*$/.test(fracPart.slice(digits))) {
    return { ok: false, reason: `has more than ${digits} decimal places for ${currency}` };
  }
  const frac = fracPart.slice(0, digits).padEnd(digits, '0');
  const minor = BigInt(intPart + frac);
  if (minor > BigInt(MAX_AMOUNT_MINOR)) return { ok: false, reason: `is too large: at most ${formatMinor(MAX_AMOUNT_MINOR, currency)} ${currency}` };
  return { ok: true, minor: Number(minor) };
}

/**
 * Formats integer minor units as a plain decimal string: (1050, 'USD') → "10.50", (5, 'JPY') → "5".
 * Any integer formats, a BigInt sum included; a number past 2^53 is formatted as the integer it
 * holds (a sum that large from the database is already rounded there).
 */
export function formatMinor(minor: number | bigint, currency: string): string {
  if (typeof minor === 'number' && !Number.isInteger(minor)) throw new RangeError(`minor units must be an integer, got ${minor}`);
  const big = BigInt(minor);
  const digits = minorDigits(currency);
  const sign = big < 0n ? '-' : '';
  const abs = (big < 0n ? -big : big).toString();
  if (digits === 0) return sign + abs;
  const padded = abs.padStart(digits + 1, '0');
  return `${sign}${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
}

/**
 * `basisPoints`/10000 of `minor`, rounded half away from zero, in integer arithmetic:
 * percentOf(999, 1000) = 100 (10 % of 9.99 is 0.999, i.e. 1.00).
 */
export function percentOf(minor: number, basisPoints: number): number {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`minor units must be a safe integer, got ${minor}`);
  if (!Number.isSafeInteger(basisPoints)) throw new RangeError(`basis points must be a safe integer, got ${basisPoints}`);
  const product = BigInt(minor) * BigInt(basisPoints);
  const negative = product < 0n;
  const abs = negative ? -product : product;
  let q = abs / 10000n;
  if ((abs % 10000n) * 2n >= 10000n) q += 1n;
  if (q > MAX_SAFE) throw new RangeError('result is not a safe integer');
  return Number(negative ? -q : q);
}
