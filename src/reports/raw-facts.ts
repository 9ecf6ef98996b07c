import type { mongo } from 'mongoose';
import { campaignsOf } from '../persistence/advertiser-campaigns';
import { conversions } from '../persistence/models/conversion';
import { idRange, idRangeHint } from '../persistence/session-ids';
import { sessions } from '../persistence/models/session';
import type { TimeBudget } from '../http/api/query-budget';
import type { RowCap } from './limits';
import type { ClickFact, ConversionFact, Dimension, Dims } from './model';

// The database side of reports: clicks come from sessions, conversions from conversions, one
// $match (sessions: an index on the filter field + _id, or _id, an advertiser's read as its
// campaigns'; conversions: the filter field +
// createdAt, or createdAt) and one $group each; the two
// are merged in code (model.ts). Local days and hours are $dateToString in the caller's
// time zone. Dimensions only sessions carry (os, browser, providers) reach conversions by $lookup.

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
  sub1: { session: 'publisherData.sub1', conversion: null },
  sub2: { session: 'publisherData.sub2', conversion: null },
  sub3: { session: 'publisherData.sub3', conversion: null },
  sub4: { session: 'publisherData.sub4', conversion: null },
  sub5: { session: 'publisherData.sub5', conversion: null },
};

export const FILTERS = ['campaign', 'advertiser', 'publisher', 'asset', 'support', 'country', 'device_type'] as const;
export type FilterName = (typeof FILTERS)[number];

export interface FactQuery {
  groupBy: readonly Dimension[];
  from: Date;
  to: Date;
  tz: string;
  includeBots: boolean;
  /** false: duplicate clicks and their conversions are left out (default: counted). */
  includeDuplicates?: boolean;
  statuses: readonly string[];
  /** Each list restricts its dimension; several lists for one name (scope + caller) all apply. */
  filters: [FilterName, string[]][];
  /** Every query gets the time left as maxTimeMS, and the app gives up at the deadline too. */
  budget?: TimeBudget;
  rowCap?: RowCap;
}

type Doc = Record<string, unknown>;
type Plain = Exclude<Dimension, 'day' | 'hour'>;

function match(q: FactQuery, on: 'session' | 'conversion'): Doc {
  // Sessions by id: made from the click's createdAt (idRange), and served by the {field, _id} indexes.
  const and: Doc[] = [on === 'session' ? { _id: idRange(q.from, q.to) } : { createdAt: { $gte: q.from, $lt: q.to } }];
  for (const [name, values] of q.filters) and.push({ [FIELDS[name][on]!]: { $in: values } });
  if (on === 'session' && q.includeDuplicates === false) and.push({ duplicate: { $ne: true } });
  if (on === 'conversion') {
    and.push({ status: { $in: [...q.statuses] } });
    if (!q.includeBots) and.push({ bot: { $ne: true } });
  }
  return and.length === 1 ? and[0]! : { $and: and };
}

/** The group key: `d0…` per plain dimension (`field` gives its path), plus the local day and hour. */
function groupKey(q: FactQuery, field: (d: Plain) => string): Doc {
  const key: Doc = {};
  q.groupBy.forEach((d, i) => {
    if (d === 'day') key.day = { $dateToString: { date: '$createdAt', format: '%Y-%m-%d', timezone: q.tz } };
    // %z is the offset as +hhmm: it keeps the repeated hour of a DST fall-back apart.
    else if (d === 'hour') key.hour = { $dateToString: { date: '$createdAt', format: '%Y-%m-%dT%H:00%z', timezone: q.tz } };
    else key[`d${i}`] = `$${field(d)}`;
  });
  return key;
}

function dimsOf(q: FactQuery, id: Doc): Dims {
  const dims: Dims = {};
  q.groupBy.forEach((d, i) => {
    if (d === 'day') dims.day = id.day as string;
    else if (d === 'hour') dims.hour = (id.hour as string).replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
    else dims[d] = (id[`d${i}`] as string | null | undefined) ?? null;
  });
  return dims;
}

/** The two pipelines of a report: clicks over sessions, conversions (with money) over conversions. */
export function factPipelines(q: FactQuery): { sessions: Doc[]; conversions: Doc[] } {
  const sessionOnly = q.includeDuplicates === false || q.groupBy.some((d) => d !== 'day' && d !== 'hour' && FIELDS[d].conversion === null);
  return {
    sessions: [
      { $match: match(q, 'session') },
      { $group: { _id: { ...groupKey(q, (d) => FIELDS[d].session), bot: '$bot' }, n: { $sum: 1 } } },
    ],
    conversions: [
      { $match: match(q, 'conversion') },
      ...(sessionOnly
        ? [
            { $lookup: { from: sessions().collectionName, localField: 'sessionId', foreignField: '_id', as: 'session' } },
            { $unwind: { path: '$session', preserveNullAndEmptyArrays: true } },
            ...(q.includeDuplicates === false ? [{ $match: { 'session.duplicate': { $ne: true } } }] : []),
          ]
        : []),
      {
        $group: {
          _id: { ...groupKey(q, (d) => FIELDS[d].conversion ?? `session.${FIELDS[d].session}`), event: '$event', currency: '$currency' },
          n: { $sum: 1 },
          payout: { $sum: '$payoutMinor' },
          revenue: { $sum: '$revenueMinor' },
        },
      },
    ],
  };
}

export const queryOptions = (q: FactQuery) => (q.budget?.maxTimeMS ? { maxTimeMS: q.budget.maxTimeMS } : {});

/** The index hint of the clicks pipeline (idRangeHint): none when a filter has a `{field, _id}` index. */
export const clicksHint = (q: FactQuery) => idRangeHint(q.filters.map(([name]) => FIELDS[name].session));
/** A query's documents, or any promised read, held to the report's time budget when it has one (the API always gives one; rebuild and verify do not). */
export const all = <T>(q: FactQuery, cursor: mongo.AbstractCursor<T>): Promise<T[]> => (q.budget ? q.budget.toArray(cursor) : cursor.toArray());
export const within = <T>(q: FactQuery, p: Promise<T>): Promise<T> => (q.budget ? q.budget.race(p) : p);

/** A group seen for the first time: counted against the report's rows. */
function newGroup<T>(q: FactQuery, dims: Dims, group: T): T {
  q.rowCap?.add(JSON.stringify(q.groupBy.map((d) => dims[d] ?? null)));
  return group;
}

/** `q` for reading sessions: each advertiser filter also as its campaigns, which have the index (advertiser-campaigns.ts). */
export async function clicksQuery(q: FactQuery): Promise<FactQuery> {
  const advertisers = q.filters.filter(([name]) => name === 'advertiser');
  if (advertisers.length === 0) return q;
  const campaigns = await within(q, Promise.all(advertisers.map(([, ids]) => campaignsOf(ids))));
  return { ...q, filters: [...q.filters, ...campaigns.map((ids): [FilterName, string[]] => ['campaign', ids])] };
}

export async function loadFacts(q: FactQuery): Promise<{ clicks: ClickFact[]; conversions: ConversionFact[] }> {
  const cq = await clicksQuery(q);
  const [clickGroups, conversionGroups] = await Promise.all([
    all(q, sessions().aggregate<{ _id: Doc; n: number }>(factPipelines(cq).sessions, { ...queryOptions(q), ...clicksHint(cq) })),
    all(q, conversions().aggregate<{ _id: Doc; n: number; payout: number; revenue: number }>(factPipelines(q).conversions, queryOptions(q))),
  ]);
  return {
    clicks: clickGroups.map((g) => {
      const dims = dimsOf(q, g._id);
      return newGroup(q, dims, { dims, bot: g._id.bot === true, count: g.n });
    }),
    conversions: conversionGroups.map((g) => {
      const dims = dimsOf(q, g._id);
      return newGroup(q, dims, {
        dims,
        event: String(g._id.event),
        currency: String(g._id.currency),
        count: g.n,
        payoutMinor: g.payout,
        revenueMinor: g.revenue,
      });
    }),
  };
}
