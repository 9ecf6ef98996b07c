import { conversions } from '../../persistence/models/conversion';
import { sessions } from '../../persistence/models/session';
import type { ClickFact, ConversionFact, Dimension, Dims } from './report-model';
import { timeBuckets } from './report-time';

// The database side of reports: clicks come from sessions, conversions from conversions, each by
// $match (index on the filter field + createdAt) then $group, and are merged in code.
//
// Written for what FerretDB 1.24 (the embedded database) can do, which also runs on MongoDB:
// - no date operators ($dateToString, $year…): local days and hours are UTC ranges computed in
//   code (report-time.ts), one $match/$group per range;
// - no $lookup: os, browser and providers, which conversions do not carry, are read from their
//   sessions in batches;
// - a $group with several accumulators silently returns 0 for all but the first: every pipeline
//   has exactly one accumulator, and count, payout and revenue are three pipelines.

type Field = { session: string; conversion: string | null };

const FIELDS: Record<Exclude<Dimension, 'day' | 'hour'>, Field> = {
  campaign: { session: 'campaignId', conversion: 'campaignId' },
  advertiser: { session: 'advertiserId', conversion: 'advertiserId' },
  publisher: { session: 'publisherId', conversion: 'publisherId' },
  asset: { session: 'assetId', conversion: 'assetId' },
  support: { session: 'supportId', conversion: 'supportId' },
  country: { session: 'country', conversion: 'country' },
  device_type: { session: 'device.type', conversion: 'deviceType' },
  os: { session: 'device.os', conversion: null },
  browser: { session: 'device.browser', conversion: null },
  provider: { session: 'providers.publisher', conversion: null },
  campaign_provider: { session: 'providers.campaign', conversion: null },
  business_provider: { session: 'providers.business', conversion: null },
};

export const FILTERS = ['campaign', 'advertiser', 'publisher', 'asset', 'support', 'country', 'device_type'] as const;
export type FilterName = (typeof FILTERS)[number];

export interface FactQuery {
  groupBy: readonly Dimension[];
  from: Date;
  to: Date;
  tz: string;
  includeBots: boolean;
  statuses: readonly string[];
  /** Each list restricts its dimension; several lists for one name (scope + caller) all apply. */
  filters: [FilterName, string[]][];
}

type Doc = Record<string, unknown>;
const SESSION_BATCH = 1000;
const CONCURRENCY = 4;

function get(doc: Doc, path: string): string | null {
  let v: unknown = doc;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Doc)[k] : undefined;
  return typeof v === 'string' ? v : null;
}

function match(q: FactQuery, on: 'session' | 'conversion', start: Date, end: Date): Doc {
  const and: Doc[] = [{ createdAt: { $gte: start, $lt: end } }];
  for (const [name, values] of q.filters) and.push({ [FIELDS[name][on]!]: { $in: values } });
  if (on === 'conversion') {
    and.push({ status: { $in: [...q.statuses] } });
    if (!q.includeBots) and.push({ bot: { $ne: true } });
  }
  return and.length === 1 ? and[0]! : { $and: and };
}

async function pool<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

export async function loadFacts(q: FactQuery): Promise<{ clicks: ClickFact[]; conversions: ConversionFact[] }> {
  const plain = q.groupBy.filter((d): d is Exclude<Dimension, 'day' | 'hour'> => d !== 'day' && d !== 'hour');
  const byDay = q.groupBy.includes('day');
  const byHour = q.groupBy.includes('hour');
  const ranges = byDay || byHour ? timeBuckets(q.from, q.to, q.tz, { day: byDay, hour: byHour }) : [{ start: q.from, end: q.to }];
  const sessionOnly = plain.filter((d) => FIELDS[d].conversion === null);

  const perRange = await pool(ranges, CONCURRENCY, async (range) => {
    const time: Dims = {};
    if ('day' in range && range.day) time.day = range.day;
    if ('hour' in range && range.hour) time.hour = range.hour;

    const clickGroups = await sessions()
      .aggregate<{ _id: Doc; n: number }>([
        { $match: match(q, 'session', range.start, range.end) },
        { $group: { _id: { ...Object.fromEntries(plain.map((d, i) => [`d${i}`, `$${FIELDS[d].session}`])), bot: '$bot' }, n: { $sum: 1 } } },
      ])
      .toArray();
    const clicks: ClickFact[] = clickGroups.map((g) => ({
      dims: { ...time, ...Object.fromEntries(plain.map((d, i) => [d, (g._id[`d${i}`] as string | null) ?? null])) },
      bot: g._id.bot === true,
      count: g.n,
    }));

    const convKey: Doc = { event: '$event', currency: '$currency' };
    plain.forEach((d, i) => {
      if (FIELDS[d].conversion) convKey[`d${i}`] = `$${FIELDS[d].conversion}`;
    });
    if (sessionOnly.length > 0) convKey.s = '$sessionId';
    const $match = match(q, 'conversion', range.start, range.end);
    const [counts, payouts, revenues] = await Promise.all(
      [1, '$payoutMinor', '$revenueMinor'].map((acc) => conversions().aggregate<{ _id: Doc; v: number }>([{ $match }, { $group: { _id: convKey, v: { $sum: acc } } }]).toArray()),
    );
    const facts = new Map<string, { id: Doc; count: number; payout: number; revenue: number }>();
    const add = (groups: { _id: Doc; v: number }[], field: 'count' | 'payout' | 'revenue') => {
      for (const g of groups) {
        const key = JSON.stringify(Object.keys(convKey).map((k) => g._id[k] ?? null));
        const f = facts.get(key) ?? { id: g._id, count: 0, payout: 0, revenue: 0 };
        f[field] += g.v;
        facts.set(key, f);
      }
    };
    add(counts!, 'count');
    add(payouts!, 'payout');
    add(revenues!, 'revenue');

    const sessionDims = await sessionDimensions([...facts.values()].map((f) => f.id.s as string).filter(Boolean), sessionOnly);
    const conversionFacts: ConversionFact[] = [...facts.values()].map((f) => {
      const dims: Dims = { ...time };
      plain.forEach((d, i) => {
        dims[d] = FIELDS[d].conversion ? ((f.id[`d${i}`] as string | null) ?? null) : (sessionDims.get(f.id.s as string)?.[d] ?? null);
      });
      return { dims, event: String(f.id.event), currency: String(f.id.currency), count: f.count, payoutMinor: f.payout, revenueMinor: f.revenue };
    });
    return { clicks, conversions: conversionFacts };
  });
  return { clicks: perRange.flatMap((r) => r.clicks), conversions: perRange.flatMap((r) => r.conversions) };
}

/** Dimensions only sessions carry (device os/browser, providers), for the converting sessions. */
async function sessionDimensions(ids: string[], dims: Exclude<Dimension, 'day' | 'hour'>[]): Promise<Map<string, Dims>> {
  const out = new Map<string, Dims>();
  if (dims.length === 0) return out;
  const projection = Object.fromEntries(dims.map((d) => [FIELDS[d].session, 1]));
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += SESSION_BATCH) {
    const docs = await sessions().find({ _id: { $in: unique.slice(i, i + SESSION_BATCH) } }, { projection }).toArray();
    for (const doc of docs) out.set(doc._id, Object.fromEntries(dims.map((d) => [d, get(doc as unknown as Doc, FIELDS[d].session)])));
  }
  return out;
}
