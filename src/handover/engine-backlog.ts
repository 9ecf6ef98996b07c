/**
 * Whether the workers are behind on workflow tasks: the session task queue's backlog as Temporal
 * counts it (approximately: DescribeTaskQueue with stats), read at most every `readMs`, in the
 * background. A start that is not eager (the worker had no free slot) leaves its first workflow task
 * in that queue, behind every earlier one. Starting sessions faster than the workers run them only
 * moves the queue from MongoDB into Temporal's matching, where a converting session's task then
 * waits behind thousands of others (a 10,000-click burst held later sessions' first tasks for
 * 25–100 s in the bench). So the hand-over starts no sessions while the backlog is above its bound:
 * they wait in MongoDB, where the hand-over's lag shows them. An unknown backlog (an error, a server
 * without task queue stats) is not held against the hand-over.
 */
export class EngineBacklog {
  /** The last read: undefined before the first answer, null when the count is unknown. */
  private last: number | null | undefined = undefined;
  private readAt = -Infinity;
  private reading: Promise<void> | null = null;

  constructor(
    private readonly read: () => Promise<number | null>,
    private readonly o: { bound: number; readMs: number; onRead?: (backlog: number | null) => void; onError?: (err: unknown) => void },
  ) {}

  /**
   * Whether the last backlog read was above the bound; starts a new read when that one is readMs
   * old. Only the first look waits for its read: a hand-over that has just started knows nothing.
   */
  async behind(now = Date.now()): Promise<boolean> {
    if (!this.reading && now - this.readAt >= this.o.readMs) {
      this.readAt = now;
      this.reading = this.read()
        .catch((err: unknown) => {
          this.o.onError?.(err);
          return null;
        })
        .then((backlog) => {
          this.last = backlog;
          this.o.onRead?.(backlog);
        })
        .finally(() => (this.reading = null));
    }
    if (this.last === undefined) await this.reading;
    return this.last != null && this.last > this.o.bound;
  }

  /** The read in flight, if any (a stop waits for it). */
  settled(): Promise<void> {
    return this.reading ?? Promise.resolve();
  }
}
