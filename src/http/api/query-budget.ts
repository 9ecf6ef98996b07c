import type { mongo } from 'mongoose';
import type { Config } from '../../config';
import { HttpError } from '../http-error';
import { detectFactMode } from './report-data';

// A time budget for the database work of one API request. MongoDB is told (`maxTimeMS`), and the app
// holds the deadline itself too: past it the request answers 503 and its cursor is closed. FerretDB
// 1.24 is not told: a `find` that runs out of maxTimeMS there answers a partial first batch as if
// it were the whole result (measured), which would make a short report look complete.

const MAX_TIME_MS_EXPIRED = 50;

function isMaxTimeExpired(err: unknown): boolean {
  const e = err as { code?: unknown; codeName?: unknown } | null;
  return e?.code === MAX_TIME_MS_EXPIRED || e?.codeName === 'MaxTimeMSExpired';
}

const closeQuietly = (cursor: mongo.AbstractCursor<unknown>) => void cursor.close().catch(() => undefined);

export class TimeBudget {
  private readonly deadline: number;

  /** `exceeded` is the 503's message: what took too long and how to narrow it. */
  constructor(
    readonly ms: number,
    private readonly exceeded: string,
    private readonly tellServer = true,
  ) {
    this.deadline = Date.now() + ms;
  }

  error(): HttpError {
    return new HttpError(503, this.exceeded);
  }

  /** The time left, for a query's `maxTimeMS` (undefined where the server is not told); a 503 once nothing is left. */
  get maxTimeMS(): number | undefined {
    const left = this.deadline - Date.now();
    if (left <= 0) throw this.error();
    return this.tellServer ? left : undefined;
  }

  /** A budget that tells the server only where it is MongoDB (see above). */
  static async forEngine(ms: number, exceeded: string): Promise<TimeBudget> {
    return new TimeBudget(ms, exceeded, (await detectFactMode()) === 'aggregate');
  }

  /** `p`, or a 503 at the deadline (then `onExpire` runs); the server's own MaxTimeMSExpired is the same 503. */
  race<T>(p: Promise<T>, onExpire?: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        onExpire?.();
        reject(this.error());
      }, Math.max(0, this.deadline - Date.now()));
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(isMaxTimeExpired(err) ? this.error() : err);
        },
      );
    });
  }

  toArray<T>(cursor: mongo.AbstractCursor<T>): Promise<T[]> {
    return this.race(cursor.toArray(), () => closeQuietly(cursor));
  }

  /** The cursor's documents until the deadline; documents already received are read without a timer. */
  async *iterate<T>(cursor: mongo.AbstractCursor<T>): AsyncGenerator<T> {
    try {
      for (;;) {
        if (Date.now() >= this.deadline) throw this.error();
        const doc = cursor.bufferedCount() > 0 ? await cursor.next() : await this.race(cursor.next());
        if (doc === null) return;
        yield doc;
      }
    } finally {
      closeQuietly(cursor);
    }
  }
}

/** The budget of one list page (sessions, conversions, deliveries). */
export function listBudget(config: Pick<Config, 'API_QUERY_TIME_BUDGET_MS'>, noun: string): Promise<TimeBudget> {
  const ms = config.API_QUERY_TIME_BUDGET_MS;
  return TimeBudget.forEngine(ms, `listing ${noun} took longer than ${ms} ms (API_QUERY_TIME_BUDGET_MS); narrow it with filters`);
}
