import type { Dimension } from '../../src/reports/model';
import { CUBES, OTHER, QUARTER_MS, cubeFor, levelMs, sumRows, type ConversionRow } from '../../src/reports/rollup-cubes';
import { blocksOf } from '../../src/reports/rollup-facts';
import { packRows, unpackRows } from '../../src/reports/rollup-store';
import { localTime } from '../../src/reports/time';

// The pure parts of the rollups: how a range becomes blocks, which cube a report reads, how rows
// add up (money exact past 2^53) and the sub-id top-N that keeps totals.

const q = (groupBy: Dimension[], tz: string, from: string, to: string) => ({ groupBy, tz, from: new Date(from), to: new Date(to) });

describe('blocksOf', () => {
  test.each([
    [['day'], 'Europe/Paris', '2024-03-29T23:00:00Z', '2024-04-02T22:00:00Z'],
    [['day'], 'America/New_York', '2024-03-09T05:00:00Z', '2024-03-12T04:00:00Z'],
    [['day'], 'Asia/Kathmandu', '2024-03-14T18:15:00Z', '2024-03-17T18:15:00Z'],
    [['hour'], 'Europe/Paris', '2024-10-26T22:00:00Z', '2024-10-27T04:00:00Z'],
    [['hour'], 'Asia/Kathmandu', '2024-03-15T00:00:00Z', '2024-03-15T06:00:00Z'],
    [[], 'UTC', '2024-01-01T00:15:00Z', '2024-03-01T00:00:00Z'],
  ] as [Dimension[], string, string, string][])('%j in %s covers [%s, %s) exactly, each block inside one local group', (groupBy, tz, from, to) => {
    const blocks = blocksOf(q(groupBy, tz, from, to), { maxLevel: 12 })!;
    let t = Date.parse(from);
    for (const b of blocks) {
      expect(b.t).toBe(t);
      expect(b.t % levelMs(b.level)).toBe(0);
      const first = localTime(new Date(b.t), tz);
      const last = localTime(new Date(b.t + levelMs(b.level) - 1), tz);
      if (groupBy.includes('day')) expect([b.labels.day, last.day]).toEqual([first.day, first.day]);
      if (groupBy.includes('hour')) expect([b.labels.hour, last.hour]).toEqual([first.hour, first.hour]);
      t += levelMs(b.level);
    }
    expect(t).toBe(Date.parse(to));
  });

  test('a 30-day report by Paris day needs a handful of blocks a day, not 96 quarter-hours', () => {
    const blocks = blocksOf(q(['day'], 'Europe/Paris', '2024-03-01T23:00:00Z', '2024-03-31T22:00:00Z'), { maxLevel: 12 })!;
    expect(new Set(blocks.map((b) => b.labels.day)).size).toBe(30);
    expect(blocks.length).toBeLessThanOrEqual(30 * 8);
  });

  test('the DST fall-back hour in Paris is two groups, and a cube stopping at one hour never gets a larger block', () => {
    const blocks = blocksOf(q(['hour'], 'Europe/Paris', '2024-10-27T00:00:00Z', '2024-10-27T02:00:00Z'), { maxLevel: 2 })!;
    expect(blocks.map((b) => b.labels.hour)).toEqual(['2024-10-27T02:00+02:00', '2024-10-27T02:00+01:00']);
    const year = blocksOf(q([], 'UTC', '2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z'), { maxLevel: 2 })!;
    expect(Math.max(...year.map((b) => b.level))).toBe(2);
  });

  test('a bound off the quarter-hour is not for rollups', () => {
    expect(blocksOf(q([], 'UTC', '2024-01-01T00:07:00Z', '2024-01-02T00:00:00Z'), { maxLevel: 12 })).toBeNull();
    expect(QUARTER_MS).toBe(900_000);
  });
});

test('a report reads the smallest cube holding its dimensions and filters, or none', () => {
  expect(cubeFor(['campaign'])!.name).toBe('advertiser_campaign');
  expect(cubeFor(['campaign', 'publisher'])!.name).toBe('campaign');
  expect(cubeFor(['publisher', 'country'])!.name).toBe('publisher_geo');
  expect(cubeFor(['campaign', 'country'])!.name).toBe('geo');
  expect(cubeFor(['sub1', 'campaign'])!.name).toBe('sub1');
  expect(cubeFor(['os', 'country'])!.name).toBe('full');
  expect(cubeFor(['sub1', 'country'])).toBeNull();
});

const conv = (k: (string | null)[], p: string): ConversionRow => ({ k, b: false, u: false, n: 1, e: 'sale', c: 'EUR', s: 'approved', p, r: p });

test('rows add up by key, money in BigInt beyond 2^53', () => {
  const cube = CUBES.find((c) => c.name === 'campaign')!;
  expect(cube.dims).toEqual(['campaign', 'advertiser', 'publisher']);
  const rows = sumRows(cube, [conv(['c', 'a', 'p'], '9007199254740993'), conv(['c', 'a', 'p'], '9007199254740993'), conv(['d', 'a', 'p'], '1')]);
  expect(rows.map((r) => [r.k[0], r.n, r.p])).toEqual([
    ['c', 2, '18014398509481986'],
    ['d', 1, '1'],
  ]);
});

test('a sub-id cube keeps the top values per campaign and publisher and puts the rest in (other), totals intact', () => {
  const cube = { ...CUBES.find((c) => c.name === 'sub1')!, topN: 3 };
  const rows = sumRows(
    cube,
    ['a', 'a', 'a', 'b', 'b', 'c', 'd', 'e'].map((v) => conv(['c1', 'a1', 'p1', v], '10')),
  );
  expect(rows.map((r) => [r.k[3], r.n, r.p]).sort()).toEqual([
    [OTHER, 3, '30'],
    ['a', 3, '30'],
    ['b', 2, '20'],
  ]);
});

test('a block is stored as one packed string and reads back the same rows; rows stored before the packing still read', () => {
  const rows = [
    { k: ['c1', null, 'p1'], b: true, u: false, n: 7 },
    conv(['c1', 'a1', null], '9007199254740993'),
    { ...conv(['c2', 'a1', 'p1'], '-5'), u: true, s: 'rejected', e: 'a"quoted\u0001event', c: 'JPY' },
  ];
  const packed = packRows(rows);
  expect(typeof packed).toBe('string');
  expect(unpackRows(packed)).toEqual(rows);
  expect(unpackRows(rows)).toEqual(rows);
  expect(unpackRows(undefined)).toEqual([]);
  expect(unpackRows(packRows([]))).toEqual([]);
});
