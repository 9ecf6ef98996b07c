import type { mongo } from 'mongoose';

// Index changes made at start-up, which several processes make at once: replicas after a deploy,
// the tests' two APIs and two workers.

const ATTEMPTS = 8;

/**
 * Runs `run` again when it loses a PostgreSQL deadlock. FerretDB 2 turns createIndexes and
 * dropIndex into catalog statements, and processes doing them on the same tables at once deadlock;
 * PostgreSQL aborts one side, which FerretDB answers as InternalError "deadlock detected". That
 * side did nothing and can simply run again.
 */
export async function retryingDeadlocks<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= ATTEMPTS || !isDeadlock(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}

function isDeadlock(err: unknown): boolean {
  return /deadlock detected/i.test(String((err as { message?: unknown } | null)?.message));
}

/** False when another process dropped it first. */
export async function dropIndexIfPresent<T extends mongo.Document>(c: mongo.Collection<T>, name: string): Promise<boolean> {
  return retryingDeadlocks(async () => {
    try {
      await c.dropIndex(name);
      return true;
    } catch (err) {
      const e = err as { code?: number; message?: string };
      if (e.code === 27 || /index not found/i.test(String(e.message))) return false;
      throw err;
    }
  });
}
