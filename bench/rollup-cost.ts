import { idRange } from '../src/persistence/session-ids';
import { sessions } from '../src/persistence/models/session';
import { QUARTER_MS, bucketStart } from '../src/reports/rollup-cubes';
import { RollupWriter } from '../src/reports/rollup-writer';

/**
 * The rollup writer's work for clicks (the click path itself writes nothing more): the two latest
 * quarter-hours recomputed with every block above them up to the day, as the writer does once a
 * quarter-hour has settled, divided by the clicks they hold. Wall time of the bench process's own
 * writer, database included.
 */
export async function rollupCostPerClick(): Promise<{ msPerClick: number | null; clicks: number }> {
  const quarter = bucketStart(Date.now(), 0) - QUARTER_MS;
  const clicks = await sessions().countDocuments({ _id: idRange(quarter, quarter + 2 * QUARTER_MS) });
  const t0 = performance.now();
  await new RollupWriter().rebuild(quarter, quarter + 2 * QUARTER_MS);
  const ms = performance.now() - t0;
  return { msPerClick: clicks > 0 ? Math.round((ms / clicks) * 1000) / 1000 : null, clicks };
}
