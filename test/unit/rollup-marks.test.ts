import { needsMark } from '../../src/reports/rollup-writer';

test('a record stored within half of ROLLUP_LATE_MS of its creation needs no rollup mark; one stored later, or with no slack configured, does', () => {
  expect(needsMark(1_000, 1_000, 120_000)).toBe(false);
  expect(needsMark(1_000, 60_999, 120_000)).toBe(false);
  expect(needsMark(1_000, 61_000, 120_000)).toBe(true);
  expect(needsMark(1_000, 3_600_000, 120_000)).toBe(true);
  // A host's clock behind the one that stamped it: stored "before" it was created.
  expect(needsMark(5_000, 1_000, 120_000)).toBe(false);
  // ROLLUP_LATE_MS = 0: the writer reads a quarter-hour as soon as it ends, so every record marks it.
  expect(needsMark(1_000, 1_000, 0)).toBe(true);
});
