import { v7 as uuidv7 } from 'uuid';
import mongoose from 'mongoose';
import { issueApiKey } from '../../src/persistence/models/api-key';
import { conversions, type ConversionRecord } from '../../src/persistence/models/conversion';
import { connectDatabase } from '../../src/persistence/database';
import { sessions, type SessionRecord } from '../../src/persistence/models/session';
import { startApiProcess, type ApiProcess } from '../support/api-process';
import { clickUrl, createFixture, type Fixture } from '../support/fixtures';
import { sharedStack, testId } from '../support/harness';
import { HttpSink } from '../support/http-sink';

// Audit H2, M2 and issue #9 item 2: no request can stall the tracker. The API runs as its own process;
// every key kind asks for the heaviest reports it may (a year by day, a month by hour, the most
// dimensions, JSON and CSV), the audit's absurd dates and its flood of list pages, while clicks and postbacks keep
// coming. Every click and postback must be answered while the reports are in flight, and every
// report gets a result or a clear refusal. Liveness, not speed: the timeouts are generous.

jest.setTimeout(300_000);

const ANSWER_TIMEOUT_MS = 60_000;
const SESSIONS = 1_500;
const COUNTRIES = ['FR', 'DE', 'ES', 'IT', 'BE', 'NL', 'US', 'GB'];
const OSES = ['iOS', 'Android', 'Windows', 'Linux', 'macOS'];

let api: ApiProcess;
let sink: HttpSink;
let f: Fixture;
const keys: Record<'operator' | 'advertiser' | 'publisher', string> = { operator: '', advertiser: '', publisher: '' };

function session(n: number): SessionRecord {
  const at = new Date(Date.UTC(2025, 0, 1) + Math.floor((n * 365 * 86_400_000) / SESSIONS));
  return {
    _id: uuidv7({ msecs: at.getTime() }), advertiserId: f.advertiserId, campaignId: f.campaignId, assetId: f.assetId, publisherId: f.publisherId,
    supportId: f.supportId, ip: '203.0.113.9', country: COUNTRIES[n % COUNTRIES.length]!,
    device: { type: 'mobile', os: OSES[n % OSES.length]!, browser: n % 2 ? 'Safari' : 'Chrome', vendor: null, model: null }, userAgent: 'test',
    publisherData: {}, referrer: null, providers: { campaign: f.campaignProviderId, publisher: f.publisherProviderId, business: f.businessProviderId },
    bot: n % 17 === 0, duplicate: false, createdAt: at, expiresAt: new Date(at.getTime() + 86_400_000), status: 'open', workflowStarted: true,
  };
}

function conversion(s: SessionRecord, n: number): ConversionRecord {
  return {
    _id: `heavy-k-${n}-${f.campaignId}`, sessionId: s._id, advertiserId: s.advertiserId, campaignId: s.campaignId, publisherId: s.publisherId,
    assetId: s.assetId, supportId: s.supportId, country: s.country, deviceType: s.device.type, bot: s.bot, event: 'sale', txid: null,
    txidKey: `heavy-k-${n}`, amountMinor: 10_000, amountCurrency: 'EUR', currency: 'EUR', payoutMinor: 1000, revenueMinor: 2000,
    status: 'approved', source: 'postback', createdAt: s.createdAt, updatedAt: s.createdAt,
  };
}

beforeAll(async () => {
  const stack = sharedStack();
  const uri = `${stack.mongoPrefix}${testId('ct').replace('-', '_')}`;
  await connectDatabase(uri);
  sink = await new HttpSink().start();
  f = await createFixture({ sinkUrl: sink.url });
  keys.operator = (await issueApiKey({ kind: 'operator', accountId: null })).key;
  keys.advertiser = (await issueApiKey({ kind: 'advertiser', accountId: f.advertiserId })).key;
  keys.publisher = (await issueApiKey({ kind: 'publisher', accountId: f.publisherId })).key;
  const all = Array.from({ length: SESSIONS }, (_, n) => session(n));
  for (let i = 0; i < all.length; i += 1000) await sessions().insertMany(all.slice(i, i + 1000));
  await conversions().insertMany(all.filter((_, n) => n % 8 === 0).map((s, n) => conversion(s, n)));
  api = await startApiProcess({
    MONGODB_URI: uri,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    TEMPORAL_TASK_QUEUE: testId('tq'),
    // Below the answer timeout, and long enough for some heavy reports to finish on a busy machine.
    REPORT_TIME_BUDGET_MS: '45000',
  });
});
afterAll(async () => {
  await api?.stop();
  await sink?.stop();
  await mongoose.disconnect();
});

const HEAVY = [
  'from=2025-01-01&to=2026-01-01&group_by=day,campaign,publisher,country,os',
  'from=2025-01-01&to=2026-01-01&group_by=day,campaign,publisher,country,os&format=csv&include_bots=true',
  'from=2025-06-01&to=2025-07-02&group_by=hour,country,os,browser,provider&tz=Asia/Kathmandu',
  'from=2025-12-01&to=2026-01-01&group_by=day,hour,support,asset,country,device_type&status=approved,pending,rejected',
];
/** The query, the parameter named, and the status when not 400 (a span too long is 422: the document cannot state it). */
const ABSURD: [string, string, number?][] = [
  ['from=1000-01-01&to=1000-01-02', 'from'],
  ['from=0001-01-01&to=2024-01-01', 'from'],
  ['from=2024-99-99&to=2024-12-01', 'from'],
  ['from=2024-01-01&to=9999-13-01', 'to'],
  ['from=0001-01-01T00:00:00Z&to=2024-01-01T00:00:00Z', 'from'],
  ['from=2024-01-01&to=2025-06-01&group_by=day', 'from', 422],
];

interface Answer {
  what: string;
  status: number;
  body: string;
  location: string | null;
}

async function ask(what: string, url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { redirect: 'manual', headers, signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) });
  const answer = { what, status: res.status, body: await res.text(), location: res.headers.get('location') };
  if (process.env.CT_TEST_LIVENESS_TRACE) console.log(Math.round(performance.now()), what, answer.status, answer.body.slice(0, 100));
  return answer;
}

test('every click and postback is answered while the heaviest reports of every key kind run, and every report gets a result or a clear refusal', async () => {
  let inFlight = 0;
  const report = async (what: string, key: string, q: string) => {
    inFlight++;
    try {
      return await ask(what, `${api.url}/api/v1/reports?${q}`, { authorization: `Bearer ${key}` });
    } finally {
      inFlight--;
    }
  };
  const heavy: Promise<Answer>[] = [];
  const absurd: Promise<[Answer, string, number]>[] = [];
  for (const [kind, key] of Object.entries(keys)) {
    for (const q of HEAVY) heavy.push(report(`${kind}: ${q}`, key, q));
    for (const [q, path, status = 400] of ABSURD) absurd.push(report(`${kind}: ${q}`, key, q).then((a) => [a, path, status]));
  }
  // The audit's list flood (M2): twenty delivery pages at once, and session and conversion pages.
  const lists: Promise<Answer>[] = [];
  const listAs = (what: string, key: string, path: string) => {
    inFlight++;
    return ask(what, `${api.url}/api/v1${path}`, { authorization: `Bearer ${key}` }).finally(() => inFlight--);
  };
  for (let i = 0; i < 20; i++) lists.push(listAs(`deliveries ${i}`, keys.publisher, '/deliveries?limit=200'));
  for (const kind of ['operator', 'advertiser', 'publisher'] as const) {
    lists.push(listAs(`${kind} sessions`, keys[kind], '/sessions?limit=200'), listAs(`${kind} conversions`, keys[kind], '/conversions?limit=200'));
  }
  const reports = Promise.all([Promise.all(heavy), Promise.all(absurd), Promise.all(lists)]);

  // Clicks, postbacks and health checks in three lanes, until every report has its answer.
  const tracking: Answer[] = [];
  let answeredDuringReports = 0;
  const lane = async (n: number) => {
    for (let i = 0; inFlight > 0 || i < 2; i++) {
      // Sent while reports were in flight (on the local engine they can all be answered quickly).
      const during = inFlight > 0;
      const click = await ask(`click ${n}.${i}`, clickUrl(api.url, f, `&sub1=lane${n}`));
      const clickId = click.location ? new URL(click.location).searchParams.get('cid') : null;
      const postback = await ask(`postback ${n}.${i}`, `${api.url}/postback?${new URLSearchParams({ click_id: clickId ?? 'none', event: 'sale', amount: '10.00', currency: 'EUR', txid: `t-${n}-${i}-${f.campaignId}`, token: f.token })}`);
      const health = await ask(`healthz ${n}.${i}`, `${api.url}/healthz`);
      tracking.push(click, postback, health);
      if (during) answeredDuringReports++;
    }
  };
  await Promise.all([lane(1), lane(2), lane(3)]);
  const [heavyAnswers, absurdAnswers, listAnswers] = await reports;

  // Liveness: tracking was answered while reports were running, every time, and correctly.
  expect(answeredDuringReports).toBeGreaterThan(0);
  for (const a of tracking) {
    const expected = a.what.startsWith('click') ? 302 : a.what.startsWith('postback') ? 202 : 200;
    expect([a.what, a.status, a.status === expected ? '' : a.body]).toEqual([a.what, expected, '']);
  }
  for (const a of listAnswers) {
    expect([a.what, [200, 503].includes(a.status)]).toEqual([a.what, true]);
    if (a.status === 503) expect(a.body).toMatch(/API_QUERY_TIME_BUDGET_MS/);
  }
  expect(listAnswers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
  // Absurd dates: a 400 (422) naming the bad parameter, for every key kind.
  for (const [a, path, status] of absurdAnswers) {
    expect([a.what, a.status]).toEqual([a.what, status]);
    expect([a.what, (JSON.parse(a.body) as { fields: { path: string }[] }).fields.map((x) => x.path)]).toEqual([a.what, expect.arrayContaining([path])]);
  }
  // The heavy reports: a result, or a refusal that says which limit (rows, time, reports at once).
  for (const a of heavyAnswers) {
    expect([a.what, [200, 422, 429, 503].includes(a.status)]).toEqual([a.what, true]);
    if (a.status !== 200) expect([a.what, (JSON.parse(a.body) as { error: string }).error]).toEqual([a.what, expect.stringMatching(/REPORT_MAX_ROWS|REPORT_TIME_BUDGET_MS|REPORT_MAX_CONCURRENT_PER_KEY/)]);
  }
  expect(heavyAnswers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
  for (const a of heavyAnswers.filter((x) => x.status === 200)) {
    const counted = a.body.startsWith('{') ? (JSON.parse(a.body) as { totals: { clicks: number; bot_clicks: number } }).totals : { clicks: a.body.split('\r\n').length - 2, bot_clicks: 0 };
    expect([a.what, counted.clicks + counted.bot_clicks > 0]).toEqual([a.what, true]);
    // A whole year is every stored session: a report that ran out of time never passes for a complete one.
    if (a.what.includes('from=2025-01-01&to=2026-01-01') && a.body.startsWith('{')) expect(counted.clicks + counted.bot_clicks).toBe(SESSIONS);
  }
});
