/**
 * How many Temporal calls the hand-over keeps in flight: up to its maximum while Temporal keeps
 * up, halved when it pushes back (resource exhausted, a deadline, a slow answer), then raised by
 * one per `limit` good answers (additive increase, multiplicative decrease: TCP's congestion
 * control, so several workers sharing one Temporal settle on their share). A push-back also pauses
 * new calls for a moment.
 */
export class Pace {
  private current: number;
  private resumeAt = 0;
  private lastCut = 0;

  constructor(
    private readonly max: number,
    private readonly o: { pauseMs: number; slowCallMs: number } = { pauseMs: 1_000, slowCallMs: 1_000 },
  ) {
    this.current = max;
  }

  get limit(): number {
    return Math.max(1, Math.floor(this.current));
  }

  /** Milliseconds before the next call may go, 0 when it may go now. */
  get waitMs(): number {
    return Math.max(0, this.resumeAt - Date.now());
  }

  answered(callMs: number): void {
    if (callMs >= this.o.slowCallMs) return this.cut(false);
    this.current = Math.min(this.max, this.current + 1 / this.limit);
  }

  /** Temporal refused for load or did not answer in time: fewer in flight, and a pause. */
  pushedBack(): void {
    this.cut(true);
  }

  private cut(pause: boolean): void {
    const now = Date.now();
    if (pause) this.resumeAt = now + this.o.pauseMs;
    // Calls in flight together fail together: one cut per moment, not one per call.
    if (now - this.lastCut < this.o.pauseMs) return;
    this.lastCut = now;
    this.current = Math.max(1, this.current / 2);
  }
}

/**
 * Runs `work` over the items, at most `pace.limit` at once (read before each launch, so a cut
 * takes effect within the batch), until `stop()` says so. `work` must not reject.
 */
export async function forEachPaced<T>(items: readonly T[], pace: Pace, stop: () => boolean, work: (item: T) => Promise<void>): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let next = 0;
  while (next < items.length && !stop()) {
    if (inFlight.size >= pace.limit) {
      await Promise.race(inFlight);
      continue;
    }
    const wait = pace.waitMs;
    if (wait > 0) {
      await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    const p: Promise<void> = work(items[next++]!).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
}
