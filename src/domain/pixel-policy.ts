// Whether an advertiser lets a pixel request count. Pure: the intake asks it before any signal.

export interface PixelPolicy {
  /** false: the advertiser reports conversions by postback only. */
  enabled: boolean;
  /** Hosts the pixel's page may be on (`shop.example`, or `*.shop.example` for its subdomains); empty: any. */
  allowedHosts: readonly string[];
  /** The session must come from the cookie set at the click, never from a click id parameter. */
  cookieOnly: boolean;
}

export const OPEN_PIXEL_POLICY: PixelPolicy = { enabled: true, allowedHosts: [], cookieOnly: false };

/** A host entry: a DNS name, lower case, optionally `*.` in front for any subdomain. */
export const PIXEL_HOST_RE = /^(\*\.)?(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The host of the page that loaded the pixel: `Origin` first, else `Referer`; null when neither is a URL. */
export function pageHost(origin: string | undefined, referer: string | undefined): string | null {
  for (const v of [origin, referer]) {
    if (!v || v === 'null') continue;
    try {
      const host = new URL(v).hostname.toLowerCase();
      if (host) return host;
    } catch {
      // not a URL: try the next one
    }
  }
  return null;
}

export function hostAllowed(host: string | null, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  if (!host) return false;
  return allowed.some((entry) => (entry.startsWith('*.') ? host.endsWith(entry.slice(1)) : host === entry));
}

/** Why the pixel request is refused under this policy, or null when it may count. */
export function pixelRefusal(policy: PixelPolicy, req: { clickIdParam: boolean; pageHost: string | null }): string | null {
  if (!policy.enabled) return 'the pixel is switched off for this advertiser (postback only)';
  if (policy.cookieOnly && req.clickIdParam) return 'this advertiser accepts the pixel with the click cookie only, not a click id parameter';
  if (!hostAllowed(req.pageHost, policy.allowedHosts)) {
    return req.pageHost ? `page host "${req.pageHost}" is not on the advertiser's pixel hosts` : "no Origin or Referer: the advertiser's pixel is limited to its own sites";
  }
  return null;
}
