import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { driveSessions } from '../../bench/end-to-end';
import type { PostbackSink } from '../../bench/sink';
import { visitor } from '../../bench/traffic-mix';
import { cpuMsPer } from '../../bench/cpu';
import { parseSnapshot, totalWrites, writesPerRequest } from '../../bench/db-writes';
import { endToEndRates } from '../../bench/targets';
import { moreRounds, roundOf, roundsOf } from '../../bench/rounds';
import { waitFor } from '../../bench/counts';
import { DEFAULT_TEMPORAL_TUNING, temporalTuningArgs } from '../../src/local-stack/local-stack';

// The bench's traffic mix and CPU arithmetic, and the dev server's tuning flags: what the
// results' ratios and the local stack's speed rest on.

test('the visitor mix has the asked shares of bots and duplicates, and duplicates repeat the previous IP', () => {
  const visitors = Array.from({ length: 1000 }, (_, i) => visitor(i, { bots: 0.05, duplicates: 0.1 }));
  expect(visitors.filter((v) => v.bot)).toHaveLength(50);
  const dups = visitors.filter((v) => v.duplicate);
  expect(dups.length).toBeGreaterThanOrEqual(90);
  expect(dups.length).toBeLessThanOrEqual(100);
  for (const [i, v] of visitors.entries()) {
    if (v.duplicate) expect(v.ip).toBe(visitors[i - 1]!.ip);
    if (v.bot) expect(v.userAgent).toMatch(/bot/i);
  }
  const plain = visitors.filter((v) => !v.duplicate).map((v) => v.ip);
  expect(new Set(plain).size).toBe(plain.length);
  expect(Array.from({ length: 100 }, (_, i) => visitor(i, { bots: 0, duplicates: 0 })).some((v) => v.bot || v.duplicate)).toBe(false);
});

test('CPU per request counts only the processes doing the work', () => {
  const cpu = { seconds: 2, processes: { api: 50, worker: 25, 'load generator': 90 }, machine: 200, others: 35, cores: 2 };
  // 50% of a core for 2 s = 1000 ms over 500 requests = 2 ms; the worker 1 ms.
  expect(cpuMsPer(cpu, 500, ['api', 'worker'])).toEqual({ total: 3, processes: { api: 2, worker: 1 } });
  expect(cpuMsPer(cpu, 0, ['api']).total).toBeNaN();
});

test('database writes per request: one database, differences over the window, every non-HOT write once per index', () => {
  const before = parseSnapshot(['app\tinbound\t100\t50\t0\t0\t2', 'app\trollup_dirty\t1\t10\t0\t0\t3', 'app\tidle\t5\t0\t0\t0\t1', 'other\tinbound\t7\t0\t0\t0\t1', 'malformed line', ''].join('\n'));
  const after = parseSnapshot(
    ['app\tinbound\t300\t650\t0\t0\t2', 'app\trollup_dirty\t1\t210\t100\t0\t3', 'app\tconversions\t200\t0\t0\t0\t9', 'app\tidle\t5\t0\t0\t0\t1', 'other\tinbound\t900\t0\t0\t0\t1'].join('\n'),
  );
  const rows = writesPerRequest(before, after, 'app', 200);
  expect(rows).toEqual([
    // A collection made during the window counts from zero; an untouched one is left out.
    { collection: 'conversions', indexes: 9, inserts: 1, updates: 0, deletes: 0, indexEntries: 9 },
    { collection: 'inbound', indexes: 2, inserts: 1, updates: 3, deletes: 0, indexEntries: 8 },
    // HOT updates wrote no index entries: 200 updates, 100 of them HOT.
    { collection: 'rollup_dirty', indexes: 3, inserts: 0, updates: 1, deletes: 0, indexEntries: 1.5 },
  ]);
  expect(totalWrites(rows)).toEqual({ inserts: 2, updates: 4, deletes: 0, indexEntries: 18.5 });
});

test('the end-to-end stages are 0.5, 0.7 and 0.9 × (d) rounded up, so that passing the 0.7 stage meets the target', () => {
  expect(endToEndRates(13)).toEqual([7, 10, 12]);
  expect(endToEndRates(100)).toEqual([50, 70, 90]);
  expect(endToEndRates(10)).toEqual([5, 7, 9]);
  expect(endToEndRates(1)).toEqual([1]);
  for (let d = 1; d <= 200; d++) expect(endToEndRates(d).some((r) => r >= 0.7 * d && r < 0.7 * d + 1)).toBe(true);
});

test('the dev-server tuning becomes its flags; in memory there are no SQLite pragmas', () => {
  const args = temporalTuningArgs({ forceSearchAttributesCacheRefreshOnRead: false, sqliteSynchronous: 'off', shardIOConcurrency: 4 }, false);
  expect(args.join(' ')).toBe(
    '--sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=off --dynamic-config-value system.forceSearchAttributesCacheRefreshOnRead=false --dynamic-config-value history.shardIOConcurrency=4',
  );
  expect(temporalTuningArgs(DEFAULT_TEMPORAL_TUNING, true).join(' ')).not.toMatch(/sqlite/);
});

test('the end-to-end driver sends a postback answered 503 again after its Retry-After, as a network does, and counts it', async () => {
  let refusals = 2;
  const postbacks: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname.startsWith('/c/')) return res.writeHead(302, { location: `https://shop.example/?cid=s-${url.searchParams.get('sub1')}` }).end();
    postbacks.push(url.searchParams.get('click_id')!);
    if (refusals-- > 0) return res.writeHead(503, { 'retry-after': '0' }).end('not stored');
    res.writeHead(202).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const fixture = { advertiserId: 'a', publisherId: 'p', supportId: 's', token: 't', campaigns: { e2e1: { campaignId: 'c', assetId: 'x' } } };
    const t = await driveSessions({
      apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, fixture, campaign: 'e2e1', sessions: 2, rate: 100,
      sink: {} as PostbackSink, mix: { bots: 0, duplicates: 0 }, stream: 1,
    });
    expect(t).toMatchObject({ redirects: 2, postbacksAccepted: 2, postbacksRetried: 2, failures: [] });
    expect(postbacks).toHaveLength(4);
  } finally {
    server.close();
  }
});

test('--rounds: later rounds alternate which side runs first, and the target is read on the median ratio', async () => {
  const order: string[] = [];
  const load = (rps: number) => ({ durationSec: 1, connections: 1, responses: rps, rps, latencyMs: { p50: 1, p90: 1, p99: 1, max: 1, mean: 1 }, statusCodes: {}, errors: 0, timeouts: 0 });
  let b = 1000;
  let c = 300;
  const later = await moreRounds(4, {
    baseline: async () => (order.push('b'), load((b += 100))),
    clicktrail: async () => (order.push('c'), load((c += 100))),
  });
  // Round 1 (baseline first) is the phase's own; then clicktrail first, baseline first, clicktrail first.
  expect(order).toEqual(['c', 'b', 'b', 'c', 'c', 'b']);
  // Each round pairs the two runs of that round, whichever ran first.
  expect(later.map((r) => [r.clicktrailRps, r.baselineRps])).toEqual([
    [400, 1100],
    [500, 1200],
    [600, 1300],
  ]);
  const all = roundsOf([roundOf(load(1000), load(900)), ...later]);
  // Ratios 0.9, 0.36, 0.42, 0.46: the median is the mean of the middle two, not swayed by the 0.9.
  expect(all.median).toBeCloseTo((500 / 1200 + 600 / 1300) / 2, 6);
  expect(roundsOf([roundOf(load(100), load(50)), roundOf(load(100), load(90)), roundOf(load(100), load(10))]).median).toBeCloseTo(0.5, 6);
  expect(roundOf(load(0), load(10)).ratio).toBe(0);
});

describe('waitFor (the drain of a run)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());
  const quietly = () => jest.spyOn(console, 'log').mockImplementation(() => undefined);

  test('a read that fails (the database restarting) is read again, and the drain still ends', async () => {
    const log = quietly();
    const reads = [new Error('unexpected EOF'), 3, 10];
    const waiting = waitFor(async () => {
      const next = reads.shift()!;
      if (next instanceof Error) throw next;
      return next;
    }, (n) => n >= 10, 60);
    await jest.advanceTimersByTimeAsync(4_000);
    await expect(waiting).resolves.toMatchObject({ counts: 10, drained: true });
    expect(log).toHaveBeenCalledWith(expect.stringContaining('unexpected EOF'));
    log.mockRestore();
  });

  test('a read still failing at the deadline fails the run with its error', async () => {
    const log = quietly();
    const waiting = waitFor(async () => {
      throw new Error('the database system is in recovery mode');
    }, () => true, 5);
    const failed = expect(waiting).rejects.toThrow('recovery mode');
    await jest.advanceTimersByTimeAsync(8_000);
    await failed;
    log.mockRestore();
  });
});
