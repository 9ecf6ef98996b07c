import mongoose, { type mongo } from 'mongoose';
import { conversions } from '../../persistence/models/conversion';
import { sessions } from '../../persistence/models/session';
import type { TimeBudget } from './query-budget';
import type { RowCap } from './report-limits';
import type { ClickFact, ConversionFact, Dimension, Dims } from './report-model';
import { timeBuckets, type TimeBucket } from './report-time';

// The database side of reports: clicks come from sessions, conversions from conversions, and are
// merged in code. Two ways to read them, same results:
//
// - `aggregate` (MongoDB): per range, $match (index on the filter field + createdAt) then $group.
//   Written within what FerretDB 1.24 understands too: it has no date operators ($dateToString…),
//   so local days and hours are UTC ranges computed in code (report-time.ts), one $match/$group per
//   range; and a $group with several accumulators silently returns 0 for all but the first there,
//   so every pipeline has exactly one accumulator (count, payout and revenue are three pipelines).
// - `scan` (FerretDB): FerretDB's SQLite backend uses no index and pushes no filter down, so every
//   query reads the whole collection; the cheapest report is then one pass over each collection,
//   streaming only the fields needed and grouping in code.
//
// Neither has $lookup: os, browser and providers, which conversions do not carry, are read from
// the converting sessions in batches.

export type FactMode = 'aggregate' | 'scan';
let detected: Promise<FactMode> | undefined;

/** `scan` on FerretDB (it says so in buildInfo), `aggregate` on MongoDB. */
export function detectFactMode(): Promise<FactMode> {
  detected ??= mongoose.connection
    .db!.admin()
    .command({ buildInfo: 1 })
    .then((info): FactMode => ('ferretdbVersion' in info ? 'scan' : 'aggregate'))
    .catch((err) => {
      detected = undefined;
      throw err;
    });
  return detected;
}

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
  /** Every query gets the time left as maxTimeMS, and the app gives up at the deadline too. */
  budget?: TimeBudget;
  rowCap?: RowCap;
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

// Batches of a bounded size: the event loop turns between them (a buffered batch is read without yielding to I/O).
const queryOptions = (q: FactQuery) => ({ batchSize: SESSION_BATCH, ...(q.budget?.maxTimeMS ? { maxTimeMS: q.budget.maxTimeMS } : {}) });
const each = <T>(q: FactQuery, cursor: mongo.AbstractCursor<T>): AsyncIterable<T> => (q.budget ? q.budget.iterate(cursor) : cursor);
const all = <T>(q: FactQuery, cursor: mongo.AbstractCursor<T>): Promise<T[]> => (q.budget ? q.budget.toArray(cursor) : cursor.toArray());

/** A group seen for the first time: counted against the report's rows. */
function newGroup<T>(q: FactQuery, dims: Dims, group: T): T {
  q.rowCap?.add(JSON.stringify(q.groupBy.map((d) => dims[d] ?? null)));
  return group;
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

export async function loadFacts(q: FactQuery, mode?: FactMode): Promise<{ clicks: ClickFact[]; conversions: ConversionFact[] }> {
  return (mode ?? (await detectFactMode())) === 'scan' ? scanFacts(q) : aggregateFacts(q);
}

type Plain = Exclude<Dimension, 'day' | 'hour'>;
const plainDims = (q: FactQuery) => q.groupBy.filter((d): d is Plain => d !== 'day' && d !== 'hour');

/** Finds the local day/hour of an instant among the buckets (binary search); null when outside them. */
function bucketFinder(q: FactQuery): ((at: Date) => Dims | null) | null {
  const byDay = q.groupBy.includes('day');
  const byHour = q.groupBy.includes('hour');
  if (!byDay && !byHour) return null;
  const buckets: TimeBucket[] = timeBuckets(q.from, q.to, q.tz, { day: byDay, hour: byHour });
  return (at) => {
    const t = at.getTime();
    let lo = 0;
    let hi = buckets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = buckets[mid]!;
      if (t < b.start.getTime()) hi = mid - 1;
      else if (t >= b.end.getTime()) lo = mid + 1;
      else return { ...(byDay ? { day: b.day } : {}), ...(byHour ? { hour: b.hour } : {}) };
    }
    return null;
  };
}

async function scanFacts(q: FactQuery): Promise<{ clicks: ClickFact[]; conversions: ConversionFact[] }> {
  const plain = plainDims(q);
  const timeOf = bucketFinder(q);
  const sessionOnly = plain.filter((d) => FIELDS[d].conversion === null);

  const clickGroups = new Map<string, ClickFact>();
  const sessionProjection = Object.fromEntries([['createdAt', 1], ['bot', 1], ...plain.map((d) => [FIELDS[d].session, 1])]);
  for await (const raw of each(q, sessions().find(match(q, 'session', q.from, q.to) as never, { projection: sessionProjection, ...queryOptions(q) }))) {
    const doc = raw as unknown as Doc;
    const time = timeOf ? timeOf(doc.createdAt as Date) : {};
    if (!time) continue;
    const dims: Dims = { ...time, ...Object.fromEntries(plain.map((d) => [d, get(doc, FIELDS[d].session)])) };
    const bot = doc.bot === true;
    const key = JSON.stringify([q.groupBy.map((d) => dims[d] ?? null), bot]);
    const f = clickGroups.get(key) ?? newGroup(q, dims, { dims, bot, count: 0 });
    f.count++;
    clickGroups.set(key, f);
  }

  const convProjection = Object.fromEntries([
    ['createdAt', 1], ['event', 1], ['currency', 1], ['payoutMinor', 1], ['revenueMinor', 1], ['sessionId', 1],
    ...plain.flatMap((d) => (FIELDS[d].conversion ? [[FIELDS[d].conversion, 1]] : [])),
  ]);
  const convDocs: Doc[] = [];
  for await (const raw of each(q, conversions().find(match(q, 'conversion', q.from, q.to) as never, { projection: convProjection, ...queryOptions(q) }))) convDocs.push(raw as unknown as Doc);
  const sessionDims = await sessionDimensions(q, convDocs.map((c) => String(c.sessionId)), sessionOnly);
  const convGroups = new Map<string, ConversionFact>();
  for (const doc of convDocs) {
    const time = timeOf ? timeOf(doc.createdAt as Date) : {};
    if (!time) continue;
    const dims: Dims = { ...time };
    for (const d of plain) dims[d] = FIELDS[d].conversion ? get(doc, FIELDS[d].conversion!) : (sessionDims.get(String(doc.sessionId))?.[d] ?? null);
    const event = String(doc.event);
    const currency = String(doc.currency);
    const key = JSON.stringify([q.groupBy.map((d) => dims[d] ?? null), event, currency]);
    const f = convGroups.get(key) ?? newGroup(q, dims, { dims, event, currency, count: 0, payoutMinor: 0, revenueMinor: 0 });
    f.count++;
    f.payoutMinor += Number(doc.payoutMinor ?? 0);
    f.revenueMinor += Number(doc.revenueMinor ?? 0);
    convGroups.set(key, f);
  }
  return { clicks: [...clickGroups.values()], conversions: [...convGroups.values()] };
}

async function aggregateFacts(q: FactQuery): Promise<{ clicks: ClickFact[]; conversions: ConversionFact[] }> {
  const plain = plainDims(q);
  const byDay = q.groupBy.includes('day');
  const byHour = q.groupBy.includes('hour');
  const ranges = byDay || byHour ? timeBuckets(q.from, q.to, q.tz, { day: byDay, hour: byHour }) : [{ start: q.from, end: q.to }];
  const sessionOnly = plain.filter((d) => FIELDS[d].conversion === null);

  const perRange = await pool(ranges, CONCURRENCY, async (range) => {
    const time: Dims = {};
    if ('day' in range && range.day) time.day = range.day;
    if ('hour' in range && range.hour) time.hour = range.hour;

    const clickGroups = await all(
      q,
      sessions().aggregate<{ _id: Doc; n: number }>(
        [
          { $match: match(q, 'session', range.start, range.end) },
          { $group: { _id: { ...Object.fromEntries(plain.map((d, i) => [`d${i}`, `$${FIELDS[d].session}`])), bot: '$bot' }, n: { $sum: 1 } } },
        ],
        queryOptions(q),
      ),
    );
    const clicks: ClickFact[] = clickGroups.map((g) => {
      const dims: Dims = { ...time, ...Object.fromEntries(plain.map((d, i) => [d, (g._id[`d${i}`] as string | null) ?? null])) };
      return newGroup(q, dims, { dims, bot: g._id.bot === true, count: g.n });
    });

    const convKey: Doc = { event: '$event', currency: '$currency' };
    plain.forEach((d, i) => {
      if (FIELDS[d].conversion) convKey[`d${i}`] = `$${FIELDS[d].conversion}`;
    });
    if (sessionOnly.length > 0) convKey.s = '$sessionId';
    const $match = match(q, 'conversion', range.start, range.end);
    const [counts, payouts, revenues] = await Promise.all(
      [1, '$payoutMinor', '$revenueMinor'].map((acc) => all(q, conversions().aggregate<{ _id: Doc; v: number }>([{ $match }, { $group: { _id: convKey, v: { $sum: acc } } }], queryOptions(q)))),
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

    const sessionDims = await sessionDimensions(q, [...facts.values()].map((f) => f.id.s as string).filter(Boolean), sessionOnly);
    const conversionFacts: ConversionFact[] = [...facts.values()].map((f) => {
      const dims: Dims = { ...time };
      plain.forEach((d, i) => {
        dims[d] = FIELDS[d].conversion ? ((f.id[`d${i}`] as string | null) ?? null) : (sessionDims.get(f.id.s as string)?.[d] ?? null);
      });
      return newGroup(q, dims, { dims, event: String(f.id.event), currency: String(f.id.currency), count: f.count, payoutMinor: f.payout, revenueMinor: f.revenue });
    });
    return { clicks, conversions: conversionFacts };
  });
  return { clicks: perRange.flatMap((r) => r.clicks), conversions: perRange.flatMap((r) => r.conversions) };
}

/** Dimensions only sessions carry (device os/browser, providers), for the converting sessions. */
async function sessionDimensions(q: FactQuery, ids: string[], dims: Exclude<Dimension, 'day' | 'hour'>[]): Promise<Map<string, Dims>> {
  const out = new Map<string, Dims>();
  if (dims.length === 0) return out;
  const projection = Object.fromEntries(dims.map((d) => [FIELDS[d].session, 1]));
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += SESSION_BATCH) {
    const docs = await all(q, sessions().find({ _id: { $in: unique.slice(i, i + SESSION_BATCH) } }, { projection, ...queryOptions(q) }));
    for (const doc of docs) out.set(doc._id, Object.fromEntries(dims.map((d) => [d, get(doc as unknown as Doc, FIELDS[d].session)])));
  }
  return out;
}
