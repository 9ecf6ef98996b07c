import { CONVERSION_PARAM_ALIASES } from '../domain/conversion-params';

// The advertiser's postback secret must never reach a log line (audit L2). Every URL or parameter
// set that is logged goes through here first. Names are compared the lenient way (any case, a
// trailing `[]`), so nothing that merely looks like a token slips through.

const SECRET_NAMES = new Set(CONVERSION_PARAM_ALIASES.token.aliases.map((a) => a.toLowerCase()));
const REDACTED = '[redacted]';

function isSecretName(raw: string): boolean {
  let name = raw;
  try {
    name = decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    // a malformed escape: judge the raw name
  }
  return SECRET_NAMES.has(name.trim().toLowerCase().replace(/\[.*\]$/, ''));
}

/** The URL (or path with query) with the value of every token parameter replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const redacted = query
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      return isSecretName(name) ? `${name}=${REDACTED}` : part;
    })
    .join('&');
  return `${url.slice(0, q + 1)}${redacted}${hash < 0 ? '' : url.slice(hash)}`;
}

/** A copy of parsed parameters (query or body) with every token value replaced. */
export function redactParams(params: unknown): unknown {
  if (!params || typeof params !== 'object' || Array.isArray(params)) return params;
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, isSecretName(k) ? REDACTED : v]));
}
