import type { Dimension } from '../../src/reports/model';
import { CUBES, DAY_LEVEL, OTHER, QUARTER_MS, childrenOf, clickRows, cubeFor, cubeUsable, isBlock, levelMs, parentOf, partitionRows, sumRows, type ConversionRow } from '../../src/reports/rollup-cubes';
import { blocksOf, documentsOf, type Block } from '../../src/reports/rollup-facts';
import { packRows, unpackRows } from '../../src/reports/rollup-store';
import { localTime } from '../../src/reports/time';

// The pure parts of the rollups: how a range becomes blocks, which cube a report reads, how rows
// add up (money exact past 2^53) and the sub-id top-N that keeps totals.

const q = (groupBy: Dimension[], tz: string, from: string, to: string) => ({ groupBy, tz, from: new Date(from), to: new Date(to) });

/** Net coverage of each quarter-hour per label: every quarter of the range exactly once under its own label, nothing else. */
function expectExactCover(blocks: Block[], groupBy: Dimension[], tz: string, from: string, to: string) {
  const net = new Map<string, number>();
  for (const b of blocks) {
    expect(isBlock(b.level, b.t)).toBe(true);
    for (let t = b.t; t < b.t + levelMs(b.level); t += QUARTER_MS) {
      const key = `${t}|${b.labels.day ?? ''}|${b.labels.hour ?? ''}`;
      net.set(key, (net.get(key) ?? 0) + b.sign);
    }
  }
  const expected = new Map<string, number>();
  for (let t = Date.parse(from); t < Date.parse(to); t += QUARTER_MS) {
    const lt = localTime(new Date(t), tz);
    expected.set(`${t}|${groupBy.includes('day') ? lt.day : ''}|${groupBy.includes('hour') ? lt.hour : ''}`, 1);
  }
  expect(new Map([...net].filter(([, n]) => n !== 0))).toEqual(expected);
}

describe('blocksOf', () => {
  test.each([
    [['day'], 'Europe/Paris', '2024-03-29T23:00:00Z', '2024-04-02T22:00:00Z'],
    [['day'], 'America/New_York', '2024-03-09T05:00:00Z', '2024-03-12T04:00:00Z'],
    [['day'], 'Asia/Kathmandu', '2024-03-14T18:15:00Z', '2024-03-17T18:15:00Z'],
    [['hour'], 'Europe/Paris', '2024-10-26T22:00:00Z', '2024-10-27T04:00:00Z'],
    [['hour'], 'Asia/Kathmandu', '2024-03-15T00:00:00Z', '2024-03-15T06:00:00Z'],
    [[], 'UTC', '2024-01-01T00:15:00Z', '2024-03-01T00:00:00Z'],
    [[], 'Europe/Paris', '2024-03-01T23:00:00Z', '2024-03-31T22:00:00Z'],
  ] as [Dimension[], string, string, string][])('%j in %s covers [%s, %s) exactly, each quarter once under its local group', (groupBy, tz, from, to) => {
    for (const [cube, subtract] of [[{ maxLevel: DAY_LEVEL }, true], [{ maxLevel: DAY_LEVEL }, false], [{ maxLevel: 2 }, true]] as const) {
      const blocks = blocksOf(q(groupBy, tz, from, to), cube, Infinity, subtract)!;
      expectExactCover(blocks, groupBy, tz, from, to);
      // Added blocks never straddle a group; nothing is subtracted unless asked, or without day blocks.
      for (const b of blocks.filter((x) => x.sign === 1 && x.level < DAY_LEVEL)) {
        const first = localTime(new Date(b.t), tz);
        const last = localTime(new Date(b.t + levelMs(b.level) - 1), tz);
        if (groupBy.includes('day')) expect(last.day).toBe(first.day);
        if (groupBy.includes('hour')) expect(last.hour).toBe(first.hour);
      }
      if (cube.maxLevel < DAY_LEVEL || !subtract) expect(blocks.every((b) => b.sign === 1)).toBe(true);
    }
  });

  test('a 30-day report by Paris day reads its 30 UTC days and the hour between the two midnights', () => {
    const blocks = blocksOf(q(['day'], 'Europe/Paris', '2024-01-01T23:00:00Z', '2024-01-31T23:00:00Z'), { maxLevel: DAY_LEVEL }, Date.parse('2024-02-02T00:00:00Z'))!;
    expect(new Set(blocks.map((b) => b.labels.day)).size).toBe(30);
    expect(blocks.filter((b) => b.level === DAY_LEVEL)).toHaveLength(30);
    expect(new Set(blocks.map((b) => `${b.level}|${b.t}`)).size).toBeLessThanOrEqual(62);
    // Without grouping by day: 29 whole days and two one-hour edges.
    const flat = blocksOf(q([], 'Europe/Paris', '2024-01-01T23:00:00Z', '2024-01-31T23:00:00Z'), { maxLevel: DAY_LEVEL }, Infinity)!;
    expect(flat.length).toBeLessThanOrEqual(32);
  });

  test('a day not yet all written is never subtracted from', () => {
    const blocks = blocksOf(q(['day'], 'Europe/Paris', '2024-01-01T23:00:00Z', '2024-01-03T23:00:00Z'), { maxLevel: DAY_LEVEL }, Date.parse('2024-01-03T12:00:00Z'))!;
    expect(blocks.filter((b) => b.sign === -1).every((b) => b.t < Date.parse('2024-01-03T00:00:00Z'))).toBe(true);
    expect(blocks.some((b) => b.level === DAY_LEVEL && b.t === Date.parse('2024-01-03T00:00:00Z'))).toBe(false);
  });

  test('the DST fall-back hour in Paris is two groups, and a cube stopping at one hour never gets a larger block', () => {
    const blocks = blocksOf(q(['hour'], 'Europe/Paris', '2024-10-27T00:00:00Z', '2024-10-27T02:00:00Z'), { maxLevel: 2 })!;
    expect(blocks.map((b) => b.labels.hour)).toEqual(['2024-10-27T02:00+02:00', '2024-10-27T02:00+01:00']);
    const year = blocksOf(q([], 'UTC', '2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z'), { maxLevel: 2 })!;
    expect(Math.max(...year.map((b) => b.level))).toBe(2);
  });

  test('a bound off the quarter-hour is not for rollups', () => {
    expect(blocksOf(q([], 'UTC', '2024-01-01T00:07:00Z', '2024-01-02T00:00:00Z'), { maxLevel: DAY_LEVEL })).toBeNull();
    expect(QUARTER_MS).toBe(900_000);
  });
});

test('blocks nest inside UTC days: a day is its 16-hour block and the 8 hours after; every block has one parent', () => {
  const day = Date.UTC(2024, 2, 31);
  expect(childrenOf(DAY_LEVEL, day)).toEqual([{ level: 6, t: day }, { level: 5, t: day + 16 * 3_600_000 }]);
  for (let level = 0; level < DAY_LEVEL; level++) {
    for (let t = day; t + levelMs(level) <= day + 86_400_000; t += levelMs(level)) {
      const p = parentOf(level, t)!;
      expect(isBlock(p.level, p.t)).toBe(true);
      expect(childrenOf(p.level, p.t)).toContainEqual({ level, t });
    }
  }
  expect(parentOf(DAY_LEVEL, day)).toBeNull();
  expect(isBlock(6, day + 16 * 3_600_000)).toBe(false);
  expect(isBlock(6, day + 32 * 3_600_000 - 86_400_000 + 86_400_000)).toBe(false);
});

test('a report filtered on a partition dimension reads that value\'s day documents, other levels whole', () => {
  const cube = CUBES.find((c) => c.name === 'sub1')!;
  const day = Date.UTC(2024, 2, 1);
  const blocks: Block[] = [
    { level: DAY_LEVEL, t: day, labels: {}, sign: 1 },
    { level: 2, t: day - 3_600_000, labels: {}, sign: 1 },
  ];
  const ids = [...documentsOf({ filters: [['publisher', ['p1', 'p2']], ['campaign', ['c1', 'c9']], ['campaign', ['c1']]] }, cube, blocks).keys()];
  expect(ids).toEqual([`sub1|clicks|day|${day}|campaign=c1`, `sub1|conversions|day|${day}|campaign=c1`, `sub1|clicks|2|${day - 3_600_000}`, `sub1|conversions|2|${day - 3_600_000}`]);
  expect([...documentsOf({ filters: [] }, cube, blocks).keys()][0]).toBe(`sub1|clicks|day|${day}`);
});

test('a day block splits into one part per value of each partition dimension, rows without one in none', () => {
  const cube = CUBES.find((c) => c.name === 'publisher_geo')!;
  const rows = [
    { k: ['a1', 'p1', 'FR', null], b: false, u: false, n: 2 },
    { k: ['a1', 'p2', 'FR', null], b: false, u: false, n: 3 },
    { k: ['a2', null, 'DE', null], b: true, u: false, n: 1 },
  ];
  const parts = partitionRows(cube, rows);
  expect(parts.map((p) => [p.dim, p.value, p.rows.reduce((s, r) => s + r.n, 0)])).toEqual([
    ['advertiser', 'a1', 5],
    ['advertiser', 'a2', 1],
    ['publisher', 'p1', 2],
    ['publisher', 'p2', 3],
  ]);
});

test('a report reads the smallest cube holding its dimensions and filters, or none', () => {
  expect(cubeFor(['campaign'])!.name).toBe('advertiser_campaign');
  expect(cubeFor(['campaign', 'publisher'])!.name).toBe('campaign');
  expect(cubeFor(['publisher', 'country'])!.name).toBe('publisher_country');
  expect(cubeFor(['publisher', 'country', 'device_type'])!.name).toBe('publisher_geo');
  expect(cubeFor(['campaign', 'country'])!.name).toBe('geo');
  expect(cubeFor(['sub1', 'campaign'])!.name).toBe('sub1');
  expect(cubeFor(['os', 'country'])!.name).toBe('full');
  expect(cubeFor(['sub1', 'country'])).toBeNull();
});

test('a cube added later serves a report only from the first UTC day summed with it whole', () => {
  const day = Date.UTC(2026, 10, 30);
  const since = (t: number) => ({ publisher_country: new Date(t) });
  const pick = (from: number, summedFrom?: Record<string, Date>) => cubeFor(['publisher', 'country'], (c) => cubeUsable(c, from, summedFrom))!.name;
  // Registered mid-day: that day's blocks lack the hours before, so reports from that day fall back.
  expect(pick(day + 3_600_000, since(day + 600_000))).toBe('publisher_geo');
  expect(pick(day + 86_400_000, since(day + 600_000))).toBe('publisher_country');
  expect(pick(day, since(day))).toBe('publisher_country');
  expect(pick(day - 900_000, since(day))).toBe('publisher_geo');
  // Never registered (no writer has run with it): not read at all.
  expect(pick(day + 86_400_000 * 10)).toBe('publisher_geo');
  expect(pick(day + 86_400_000 * 10, {})).toBe('publisher_geo');
  // Cubes released with the rollups are always complete.
  expect(cubeUsable(CUBES.find((c) => c.name === 'geo')!, 0, undefined)).toBe(true);
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

test('a sub-id cube keeps only rows with a value (those without one come from its base cube)', () => {
  const cube = CUBES.find((c) => c.name === 'sub2')!;
  expect(cube.nullFrom).toBe('campaign');
  const src = (sub2: string | null) => ({ dims: { campaign: 'c', advertiser: 'a', publisher: 'p', sub2 }, bot: false, duplicate: false });
  expect(clickRows(cube, [src(null), src(''), src('x'), src('x')]).map((r) => [r.k[3], r.n])).toEqual([
    ['', 1],
    ['x', 2],
  ]);
  expect(clickRows(CUBES.find((c) => c.name === 'campaign')!, [src(null), src('x')]).map((r) => r.n)).toEqual([2]);
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
