import { HttpError } from '../http/http-error';

// Bounds on what one report may cost: how many rows it may hold, and how many reports one API key
// may run at once (per process).

/** Counts a report's distinct rows as they appear; a 422 once there are more than `max`. */
export class RowCap {
  private readonly keys = new Set<string>();

  constructor(readonly max: number) {}

  add(rowKey: string): void {
    if (this.keys.has(rowKey)) return;
    this.keys.add(rowKey);
    if (this.keys.size > this.max) {
      throw new HttpError(422, `the report has more than ${this.max} rows (REPORT_MAX_ROWS); narrow the range, add filters or group by fewer dimensions`);
    }
  }
}

/** How many reports each key has running; `enter` refuses past the limit. */
export class KeyConcurrency {
  private readonly running = new Map<string, number>();

  constructor(readonly max: number) {}

  /** A release function, or null when the key already runs `max` reports. */
  enter(key: string): (() => void) | null {
    const n = this.running.get(key) ?? 0;
    if (n >= this.max) return null;
    this.running.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(key) ?? 1) - 1;
      if (left > 0) this.running.set(key, left);
      else this.running.delete(key);
    };
  }
}
