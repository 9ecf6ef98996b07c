import type { Config } from '../config';
import type { Logger } from '../log';
import { RollupLoop, applySessionRetention } from './rollup-loop';
import { RollupWriter } from './rollup-writer';

/** The rollup writer of a worker process, with the raw sessions' retention it must respect. */
export function startRollups(config: Config, log: Logger): RollupLoop {
  const writer = new RollupWriter({
    log,
    leaseMs: config.ROLLUP_LEASE_MS,
    lateMs: config.ROLLUP_LATE_MS,
    // As the hand-over's walk: a click's insert lands within its budget, or the click path gave up on it.
    minuteSettleMs: config.MONGO_OP_TIMEOUT_MS + 1_000,
    retentionMs: config.SESSION_RETENTION_DAYS * 86_400_000,
  });
  const loop = new RollupLoop(writer, config.ROLLUP_INTERVAL_MS, log);
  applySessionRetention(config.SESSION_RETENTION_DAYS).then(
    () => loop.start(),
    (err: unknown) => {
      log.error({ err: String(err) }, 'could not apply SESSION_RETENTION_DAYS; rollups start anyway');
      loop.start();
    },
  );
  return loop;
}
