import { CONVERSION_LOG } from '../../src/handover/conversion-log';
import type { Collection, Document } from 'mongodb';
import mongoose from 'mongoose';
import { v7 as uuidv7 } from 'uuid';
import { idRange, idRangeHint } from '../../src/persistence/session-ids';
import { advertiserCampaignBounds } from '../../src/persistence/advertiser-campaigns';
import { Campaign } from '../../src/persistence/models/campaign';
import { clicksHint, clicksQuery, factPipelines, type FactQuery } from '../../src/reports/raw-facts';
import { conversions } from '../../src/persistence/models/conversion';
import { deliveries } from '../../src/persistence/models/delivery';
import { inbounds } from '../../src/persistence/models/inbound';
import { sessions } from '../../src/persistence/models/session';
import { rollups } from '../../src/reports/rollup-store';
import { startTestApp, type TestApp } from '../support/harness';

// Every query on a hot path, in a list or in a report must be served by an index: `explain` on
// the real engine, failing on a collection scan. The shapes are those of the code named in each
// case. Works on MongoDB (winning plan stages) and on FerretDB/DocumentDB (PostgreSQL plan nodes).

let app: TestApp;
const at = (i: number) => new Date(Date.UTC(2024, 2, 10) + i * 60_000);
// Session ids made from their createdAt, as a click makes them.
const sid = Array.from({ length: 300 }, (_, i) => uuidv7({ msecs: at(i).getTime() }));
beforeAll(async () => {
  app = await startTestApp();
  // Some documents in every collection explained, so that a plan reads something; DocumentDB
  // prices an applicable index at zero (documentdb.forceUseIndexIfAvailable), MongoDB plans by shape.
  await sessions().insertMany(
    Array.from({ length: 300 }, (_, i) => ({
      _id: sid[i]!,
      advertiserId: `a${i % 3}`,
      campaignId: `c${i % 10}`,
      publisherId: `p${i % 7}`,
      createdAt: at(i),
      workflowStarted: i % 50 !== 0,
      status: 'open',
      bot: false,
    })) as never,
  );
  // Campaigns, so that an advertiser's sessions are read as its campaigns' (advertiser-campaigns.ts).
  await Campaign.collection.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: `c${i}`, advertiserId: `a${i % 3}` })) as never);
  await conversions().insertMany(
    Array.from({ length: 100 }, (_, i) => ({
      _id: `k${i}`,
      sessionId: sid[i * 3]!,
      advertiserId: `a${i % 3}`,
      campaignId: `c${i % 10}`,
      publisherId: `p${i % 7}`,
      txidKey: `t${i}`,
      status: 'approved',
      createdAt: at(i * 3),
    })) as never,
  );
  await deliveries().insertMany(
    Array.from({ length: 100 }, (_, i) => ({
      _id: `d${i}#1`,
      deliveryId: `d${i}`,
      conversionId: `k${i}`,
      sessionId: `s${i}`,
      target: i % 2 ? 'publisher' : 'provider',
      targetId: `p${i % 7}`,
      outcome: 'delivered',
      attempt: 1,
      at: at(i),
    })) as never,
  );
  await inbounds().insertMany(
    Array.from({ length: 3000 }, (_, i) => ({ _id: `i${String(i).padStart(4, '0')}`, sessionId: `s${i}`, outcome: i % 10 ? 'accepted' : 'rejected', at: at(i) })) as never,
  );
  // Blocks of years before the sessions, which the app's own rollup writer never recomputes nor
  // deletes. Once autovacuum has analysed a table, PostgreSQL prices its pages: an empty one
  // costs nothing to scan and a page or two costs less than a bitmap scan's heap fetch, so it
  // keeps the Seq Scan (CI at eaee3ae failed the rollup cases so). Hence tables of some pages.
  const row = { k: ['c1', 'p1', 'FR'], clicks: 10, conversions: 1, payout: 100, revenue: 150 };
  await rollups().insertMany(
    Array.from({ length: 2000 }, (_, i) => ({ _id: `old|clicks|day|${i}`, cube: 'old', part: 'clicks', level: 7, t: new Date(Date.UTC(2018, 0, 1) + i * 86_400_000), tok: 1, rows: [row, row, row] })) as never,
  );
});
afterAll(async () => {
  await app?.stop();
});

interface Plan {
  collectionScans: number;
  indexes: Set<string>;
}

const FULL_RANGE = '[MinKey, MaxKey]';

/**
 * Walks an explain answer of either engine. Reading a whole index (no bounds, no condition) is a
 * collection scan in disguise and counts as one.
 */
function readPlan(node: unknown, plan: Plan = { collectionScans: 0, indexes: new Set() }): Plan {
  if (Array.isArray(node)) {
    for (const n of node) readPlan(n, plan);
  } else if (node && typeof node === 'object') {
    const n = node as Record<string, unknown>;
    // MongoDB: winningPlan stages. rejectedPlans are alternatives that did not run.
    if (n.stage === 'COLLSCAN') plan.collectionScans++;
    if (n.stage === 'IXSCAN' && typeof n.indexName === 'string') {
      const bounds = Object.values((n.indexBounds ?? {}) as Record<string, string[]>);
      if (bounds.every((b) => b.length === 1 && b[0] === FULL_RANGE)) plan.collectionScans++;
      else plan.indexes.add(n.indexName);
    }
    // DocumentDB: PostgreSQL plan nodes; a collection's documents are the documents_<n> tables.
    if (n['Node Type'] === 'Seq Scan' && String(n['Relation Name'] ?? '').startsWith('documents_')) plan.collectionScans++;
    if (typeof n['Node Type'] === 'string' && /Index( Only)? Scan$/.test(n['Node Type']) && typeof n['Index Name'] === 'string') {
      // Every row of a collection has the same shard_key_value: a condition on it alone bounds nothing.
      if (!/document|object_id/.test(String(n['Index Cond'] ?? ''))) plan.collectionScans++;
      else plan.indexes.add(n['Index Name']);
    }
    for (const [k, v] of Object.entries(n)) if (k !== 'rejectedPlans' && k !== 'command') readPlan(v, plan);
  }
  return plan;
}

const explain = async (command: Document) => readPlan(await mongoose.connection.db!.command({ explain: command, verbosity: 'queryPlanner' }));

function explainFind(c: Collection<never>, filter: Document, opts: { sort?: Document; limit?: number; hint?: Document } = {}): Promise<Plan> {
  return explain({ find: c.collectionName, filter, ...opts });
}

function explainAggregate(c: Collection<never>, pipeline: Document[], opts: { hint?: Document } = {}): Promise<Plan> {
  return explain({ aggregate: c.collectionName, pipeline, cursor: {}, ...opts });
}

const c = <T extends Document>(coll: Collection<T>) => coll as unknown as Collection<never>;
const range = { $gte: new Date('2024-03-10T00:00:00Z'), $lt: new Date('2024-03-10T02:00:00Z') };
const reportQuery: FactQuery = { groupBy: ['campaign', 'day'], from: range.$gte, to: range.$lt, tz: 'UTC', includeBots: false, statuses: ['approved'], filters: [] };

/** [what, explain it, the indexes that may serve it] */
const cases: [string, () => Promise<Plan>, string | string[]][] = [
  // src/http/conversion-intake.ts: the pixel's and the postback's session lookup.
  ['session by click id (pixel, postback)', () => explainFind(c(sessions()), { _id: sid[7]! }), '_id_'],
  // activities/conversions.ts: a transaction id already counted for the advertiser.
  ['conversion by advertiser and txid (recordConversion)', () => explainFind(c(conversions()), { advertiserId: 'a1', txidKey: 't1' }), 'advertiserId_1_txidKey_1'],
  ['conversion by id (status update)', () => explainFind(c(conversions()), { _id: 'k3' }), '_id_'],
  // src/handover/id-ranges.ts: the next range of sessions, or of accepted conversions, after the hand-over's cursor, in id order.
  ['sessions to start (hand-over range)', () => explain({ find: 'sessions', filter: { _id: { $gt: sid[10]!, $lt: sid[50]! } }, sort: { _id: 1 }, limit: 200, hint: { _id: 1 } }), '_id_'],
  ['conversions to signal (hand-over range)', () => explain({ find: 'inbound', filter: { _id: { $gt: 'i0100', $lt: 'i2000' }, ...CONVERSION_LOG.pending }, sort: { _id: 1 }, limit: 200, hint: { _id: 1 } }), '_id_'],
  ['the refused sessions of a claim (hand-over)', () => explainFind(c(sessions()), { _id: { $in: [sid[1]!, sid[50]!] } }), '_id_'],
  ['the refused conversions of a claim (hand-over)', () => explainFind(c(inbounds()), { _id: { $in: ['i0001', 'i0010'] }, ...CONVERSION_LOG.pending }), '_id_'],
  // src/http/api/sessions.ts, conversions.ts: lists by campaign, advertiser (its key's scope) or publisher, sorted by id
  // (first page: later pages add `_id > cursor`, which the _id index bounds).
  // Sessions: a `{field: 1, _id: 1}` index per field serves the list in its order, and with from/to
  // (an id range, idRange) bounds both; an advertiser's are read as its campaigns' (the list's
  // advertiserCampaignBounds). Conversions keep their `{field, createdAt}` indexes.
  ...(['campaignId', 'advertiserId', 'publisherId'] as const).flatMap((field): [string, () => Promise<Plan>, string[]][] => {
    const value = { campaignId: 'c3', advertiserId: 'a1', publisherId: 'p2' }[field];
    const sessionIndex = field === 'advertiserId' ? 'campaignId_1__id_1' : `${field}_1__id_1`;
    const conversionIndexes = [`${field}_1_createdAt_1`, ...(field === 'campaignId' ? [] : [`${field}_1__id_1`])];
    const listed = async (filter: Document, after: Document, opts: { sort: Document; limit: number }) => {
      const and = [filter, {}, ...(await advertiserCampaignBounds([filter])), after];
      return explainFind(c(sessions()), { $and: and }, { ...opts, ...idRangeHint(and.flatMap((x) => Object.keys(x))) });
    };
    return [
      [`sessions list by ${field}`, () => listed({ [field]: value }, {}, { sort: { _id: 1 }, limit: 51 }), [sessionIndex]],
      [`sessions list by ${field}, from/to`, () => listed({ [field]: value, _id: idRange(range.$gte, range.$lt) }, {}, { sort: { _id: 1 }, limit: 51 }), [sessionIndex, '_id_']],
      [`sessions list by ${field}, from/to, a later page`, () => listed({ [field]: value, _id: idRange(range.$gte, range.$lt) }, { _id: { $gt: sid[20]! } }, { sort: { _id: 1 }, limit: 51 }), [sessionIndex, '_id_']],
      [`conversions list by ${field}`, () => explainFind(c(conversions()), { $and: [{ [field]: value }, {}, {}] }, { sort: { _id: 1 }, limit: 51 }), conversionIndexes],
    ];
  }),
  // Unscoped: the primary key by name (idRangeHint), else the planner may walk a {field, _id} index whole.
  ['sessions list from/to, operator', () => explainFind(c(sessions()), { $and: [{ _id: idRange(range.$gte, range.$lt) }, {}, {}] }, { sort: { _id: 1 }, limit: 51, ...idRangeHint(['_id']) }), '_id_'],
  ['sessions list by campaign, advertiser key', async () => explainFind(c(sessions()), { $and: [{ campaignId: 'c3' }, { advertiserId: 'a1' }, ...(await advertiserCampaignBounds([{ advertiserId: 'a1' }])), {}] }, { sort: { _id: 1 }, limit: 51 }), 'campaignId_1__id_1'],
  ['conversions of a session (session detail)', () => explainFind(c(conversions()), { sessionId: 's0003' }, { sort: { createdAt: 1 } }), 'sessionId_1'],
  // src/http/api/deliveries.ts: deliveries by conversion, session, outcome, and a publisher key's own.
  ...([
    [{ conversionId: 'k4' }, 'conversionId_1_at_1'],
    [{ sessionId: 's4' }, 'sessionId_1'],
    [{ outcome: 'given_up' }, 'outcome_1_at_1'],
    [{ target: 'publisher', targetId: 'p3' }, 'target_1_targetId_1_deliveryId_1'],
  ] as const).map(([filter, index]): [string, () => Promise<Plan>, string] => [
    `deliveries list by ${Object.keys(filter).join(' and ')}`,
    () => explainAggregate(c(deliveries()), [{ $match: { $and: [filter, {}, {}] } }, { $group: { _id: '$deliveryId', n: { $sum: 1 } } }, { $sort: { _id: 1 } }, { $limit: 51 }]),
    index,
  ]),
  ['attempts of listed deliveries', () => explainFind(c(deliveries()), { deliveryId: { $in: ['d1', 'd2'] } }, { sort: { deliveryId: 1, attempt: 1 } }), ['deliveryId_1_attempt_1', 'target_1_targetId_1_deliveryId_1']],
  // src/reports/raw-facts.ts: the report pipelines themselves, for an operator and for scoped keys.
  // Clicks are read by id range (on _id, or a {field, _id} index); conversions by createdAt.
  ...([
    ['operator', [], '_id_', ['createdAt_1', 'advertiserId_1_createdAt_1', 'campaignId_1_createdAt_1', 'publisherId_1_createdAt_1']],
    ['advertiser key', [['advertiser', ['a1']]], ['campaignId_1__id_1', '_id_'], 'advertiserId_1_createdAt_1'],
    ['publisher key', [['publisher', ['p1']]], ['publisherId_1__id_1', '_id_'], 'publisherId_1_createdAt_1'],
    ['campaign filter', [['campaign', ['c1', 'c2']]], ['campaignId_1__id_1', '_id_'], 'campaignId_1_createdAt_1'],
  ] as [string, FactQuery['filters'], string | string[], string | string[]][]).flatMap(([who, filters, sessionIndex, conversionIndex]): [string, () => Promise<Plan>, string | string[]][] => {
    // os needs the $lookup of sessions; day the time zone.
    const q: FactQuery = { groupBy: ['campaign', 'os', 'day'], from: range.$gte, to: range.$lt, tz: 'Europe/Paris', includeBots: false, statuses: ['approved', 'pending'], filters };
    return [
      [`report clicks, ${who}`, async () => { const cq = await clicksQuery(q); return explainAggregate(c(sessions()), factPipelines(cq).sessions, clicksHint(cq)); }, sessionIndex],
      // DocumentDB may read a createdAt range from a compound index's second key: still bounded by it.
      [`report conversions, ${who}`, () => explainAggregate(c(conversions()), factPipelines(q).conversions), conversionIndex],
    ];
  }),
  // src/reports/rollup-facts.ts and rollup-writer.ts: a report's blocks (and day partitions) by id, a day's stored blocks, a rebuilt day's.
  ['report rollup blocks by id (loadRollupFacts)', () => explainFind(c(rollups()), { _id: { $in: ['campaign|clicks|day|1710028800000|publisher=p1', 'campaign|clicks|2|1710025200000'] } }), '_id_'],
  ['a day\'s blocks and partitions (rollup writer)', () => explainFind(c(rollups()), { t: new Date(Date.UTC(2024, 2, 10)), level: 7 }), 't_1'],
  ['minute documents of applied quarter-hours (rollup writer)', () => explainFind(c(rollups()), { level: -1, t: { $lt: new Date(Date.UTC(2024, 2, 10)) } }), 't_1'],
  // src/reports/rollup-writer.ts loadSources: a quarter-hour's clicks (writer, rebuild), and a report's newest minutes from the raw sessions, scoped.
  ['a quarter-hour\'s clicks (rollup writer, rebuild)', () => explainFind(c(sessions()), { _id: idRange(range.$gte, range.$lt) }, idRangeHint([])), '_id_'],
  ['report clicks, a country filter only (raw-facts.ts)', () => explainAggregate(c(sessions()), factPipelines({ ...reportQuery, filters: [['country', ['FR']]] }).sessions, clicksHint({ ...reportQuery, filters: [['country', ['FR']]] })), '_id_'],
  ['a report\'s newest minutes, raw, for a publisher key', () => explainFind(c(sessions()), { _id: idRange(range.$gte, range.$lt), publisherId: { $in: ['p1'] } }), ['_id_', 'publisherId_1__id_1']],
  ['a report\'s newest minutes, raw, for an advertiser key', async () => explainFind(c(sessions()), { $and: [{ _id: idRange(range.$gte, range.$lt), advertiserId: { $in: ['a1'] } }, ...(await advertiserCampaignBounds([{ advertiserId: { $in: ['a1'] } }]))] }), ['_id_', 'campaignId_1__id_1']],
  ['a report\'s newest minutes, raw, for campaigns', () => explainFind(c(sessions()), { _id: idRange(range.$gte, range.$lt), campaignId: { $in: ['c1', 'c2'] } }), ['_id_', 'campaignId_1__id_1']],
  ['the blocks of a day rebuilt (rollup rebuild)', () => explainFind(c(rollups()), { t: { $gte: new Date(Date.UTC(2024, 2, 10)), $lt: new Date(Date.UTC(2024, 2, 11)) } }), 't_1'],
];

test.each(cases)('%s is served by an index', async (_name, explainIt, expected) => {
  const plan = await explainIt();
  const acceptable = [expected].flat();
  const used = [...plan.indexes];
  expect({ collectionScans: plan.collectionScans, uses: used.some((i) => acceptable.includes(i)) ? acceptable : used }).toEqual({ collectionScans: 0, uses: acceptable });
});

test('the click insert relies on the unique _id index, and a conversion counts once by its unique (advertiser, txid) index', async () => {
  const unique = async (coll: Collection<never>) => (await coll.indexes()).filter((i) => i.unique || i.name === '_id_').map((i) => i.name);
  expect(await unique(c(sessions()))).toContain('_id_');
  expect(await unique(c(conversions()))).toEqual(expect.arrayContaining(['_id_', 'advertiserId_1_txidKey_1']));
  await expect(sessions().insertOne({ _id: sid[1]! } as never)).rejects.toMatchObject({ code: 11000 });
});

test('sessions have two secondary indexes, campaign and publisher with _id (an advertiser is read as its campaigns; retention adds its own TTL index when set)', async () => {
  const keys = (await sessions().indexes()).map((i) => i.key);
  expect(keys).toEqual([{ _id: 1 }, { campaignId: 1, _id: 1 }, { publisherId: 1, _id: 1 }]);
});

test('a query on a field without an index is reported as a collection scan (the check can fail)', async () => {
  const plan = await explainFind(c(sessions()), { userAgent: 'curl/8' });
  expect(plan.collectionScans).toBeGreaterThan(0);
  expect(plan.indexes.size).toBe(0);
});

test('an advertiser named twice (its key scope and its own ?advertiser= filter) has its campaigns looked up once', async () => {
  const find = jest.spyOn(Campaign, 'find');
  try {
    const bounds = await advertiserCampaignBounds([{ advertiserId: 'a1' }, { advertiserId: { $in: ['a1'] } }, { advertiserId: 'a2' }]);
    expect(find).toHaveBeenCalledTimes(2);
    expect(bounds[0]!.campaignId.$in.sort()).toEqual(['c1', 'c4', 'c7']);
    expect(bounds[1]).toEqual(bounds[0]);
    expect(bounds[2]!.campaignId.$in.sort()).toEqual(['c2', 'c5', 'c8']);
  } finally {
    find.mockRestore();
  }
});
