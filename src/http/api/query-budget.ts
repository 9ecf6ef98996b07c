import type { mongo } from 'mongoose';
import type { Config } from '../../config';
import { HttpError } from '../http-error';

// A time budget for the database work of one API request. The server is told (`maxTimeMS`), and the
// app holds the deadline itself too: past it the request answers 503 and its cursor is closed.

const MAX_TIME_MS_EXPIRED = 50;

function isMaxTimeExpired(err: unknown): boolean {
  const e = err as { code?: unknown; codeName?: unknown } | null;
  return e?.code === MAX_TIME_MS_EXPIRED || e?.codeName === 'MaxTimeMSExpired';
}

const closeQuietly = (cursor: mongo.AbstractCursor<unknown>) => void cursor.close().catch(() => undefined);

export class TimeBudget {
  private readonly deadline: number;
  /** What the request waited on the database: summed per query (parallel ones each count), for Server-Timing. */
  readonly spent = { ms: 0, queries: 0, documents: 0 };

  /** `exceeded` is the 503's message: what took too long and how to narrow it. */
  constructor(
    readonly ms: number,
    private readonly exceeded: string,
  ) {
    this.deadline = Date.now() + ms;
  }

  error(): HttpError {
    return new HttpError(503, this.exceeded);
  }

  /** The time left, for a query's `maxTimeMS`; a 503 once nothing is left. */
  get maxTimeMS(): number {
    const left = this.deadline - Date.now();
    if (left <= 0) throw this.error();
    return left;
  }

  /** `p`, or a 503 at the deadline (then `onExpire` runs); the server's own MaxTimeMSExpired is the same 503. */
  race<T>(p: Promise<T>, onExpire?: () => void): Promise<T> {
    const t0 = performance.now();
    this.spent.queries++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        onExpire?.();
        reject(this.error());
      }, Math.max(0, this.deadline - Date.now()));
      p.then(
        (v) => {
          clearTimeout(timer);
          this.spent.ms += performance.now() - t0;
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(isMaxTimeExpired(err) ? this.error() : err);
        },
      );
    });
  }

  async toArray<T>(cursor: mongo.AbstractCursor<T>): Promise<T[]> {
    const docs = await this.race(cursor.toArray(), () => closeQuietly(cursor));
    this.spent.documents += docs.length;
    return docs;
  }
}

/** The budget of one list page (sessions, conversions, deliveries). */
export function listBudget(config: Pick<Config, 'API_QUERY_TIME_BUDGET_MS'>, noun: string): TimeBudget {
  const ms = config.API_QUERY_TIME_BUDGET_MS;
  return new TimeBudget(ms, `listing ${noun} took longer than ${ms} ms (API_QUERY_TIME_BUDGET_MS); narrow it with filters`);
}
