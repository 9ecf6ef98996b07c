import type { Logger } from '../log';
import { dropIndexIfPresent, retryingDeadlocks } from '../persistence/index-ddl';
import { sessions } from '../persistence/models/session';
import { RollupWriter } from './rollup-writer';

// The rollup writer as a background loop of a worker process: one tick at a time, errors logged
// and retried at the next tick (a tick only recomputes, so a failed one leaves nothing half-counted).

export class RollupLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    readonly writer: RollupWriter,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.writer
        .tick()
        .then(
          () => undefined,
          (err: unknown) => this.log.warn({ err: String(err) }, 'rollup tick failed; retrying at the next one'),
        )
        .finally(() => {
          this.running = null;
          this.schedule(this.intervalMs);
        });
    }, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}

const RETENTION_INDEX = 'session_retention';

/**
 * Raw sessions expire `days` after their attribution window ends (a TTL index on `expiresAt`);
 * 0 removes the expiry. The rollups keep their clicks (rollup-writer.ts never recomputes clicks of
 * a quarter-hour older than the retention).
 */
export async function applySessionRetention(days: number): Promise<void> {
  const seconds = days * 86_400;
  const existing = (await sessions().indexes()).find((i) => i.name === RETENTION_INDEX);
  if (existing && existing.expireAfterSeconds === seconds) return;
  if (existing) await dropIndexIfPresent(sessions(), RETENTION_INDEX);
  if (seconds > 0) await retryingDeadlocks(() => sessions().createIndex({ expiresAt: 1 }, { name: RETENTION_INDEX, expireAfterSeconds: seconds }));
}
