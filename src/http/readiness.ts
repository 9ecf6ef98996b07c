import mongoose from 'mongoose';
import type { Metrics } from '../metrics';

export interface Readiness {
  check(): Promise<{ ready: boolean; body: { status: 'ready' | 'not ready'; down: string[]; checks: Record<string, string> } }>;
}

/**
 * /readyz: MongoDB answers a ping and Temporal its system info, each within `timeoutMs`. Checks
 * in flight are shared, so a probe storm costs one ping, not one per request.
 */
export function readiness(opts: { timeoutMs: number; temporalPing: (timeoutMs: number) => Promise<void>; metrics: Metrics }): Readiness {
  let inFlight: ReturnType<Readiness['check']> | null = null;
  const probe = async (name: 'mongodb' | 'temporal', ping: () => Promise<unknown>): Promise<[string, string]> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    });
    try {
      await Promise.race([ping(), timeout]);
      return [name, 'up'];
    } catch (err) {
      opts.metrics.dependencyErrors.inc({ dependency: name, operation: 'readiness' });
      return [name, `down: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300)];
    } finally {
      clearTimeout(timer);
    }
  };
  const run: Readiness['check'] = async () => {
    const checks = Object.fromEntries(
      await Promise.all([
        probe('mongodb', () => {
          const db = mongoose.connection.db;
          if (!db) throw new Error('not connected');
          // Through the driver even when mongoose says disconnected: a waiting operation makes the
          // driver check the server at once, so readiness comes back as soon as MongoDB does.
          return db.admin().ping({ maxTimeMS: opts.timeoutMs });
        }),
        probe('temporal', () => opts.temporalPing(opts.timeoutMs)),
      ]),
    );
    const down = Object.keys(checks).filter((k) => checks[k] !== 'up');
    return { ready: down.length === 0, body: { status: down.length === 0 ? 'ready' : 'not ready', down, checks } };
  };
  return {
    check() {
      inFlight ??= run().finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
  };
}
