import { account, type Principal } from './principal';

// Filters shared by the traffic routers (sessions, conversions, deliveries).

/** The traffic a key may see: an advertiser its campaigns', a publisher its own. */
export function trafficScope(p: Principal): Record<string, string> {
  if (p.kind === 'advertiser') return { advertiserId: account(p) };
  if (p.kind === 'publisher') return { publisherId: account(p) };
  return {};
}

/** Equality filters for the query parameters that are set: `{ campaign: 'campaignId' }` maps ?campaign= to campaignId. */
export function matchFilter(query: Record<string, unknown>, fields: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).flatMap(([param, field]) => (query[param] === undefined || query[param] === '' ? [] : [[field, query[param]]])),
  );
}

export function timeRange(from: Date | undefined, to: Date | undefined, field: string): Record<string, unknown> {
  if (!from && !to) return {};
  return { [field]: { ...(from ? { $gte: from } : {}), ...(to ? { $lt: to } : {}) } };
}
