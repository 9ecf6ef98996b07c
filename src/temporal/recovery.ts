import type { ConversionRequest } from '../domain/attribution-rules';
import type { Logger } from '../log';
import { inbounds } from '../persistence/models/inbound';
import { sessions, sessionSnapshot } from '../persistence/models/session';
import { MAX_STARTS_IN_FLIGHT, type SessionClient } from './session-client';

const DEFAULT_BATCH = 500;

/**
 * The other half of "durable before the redirect": clicks and conversions accepted while Temporal
 * was unreachable sit in MongoDB flagged as not yet handed over. This sweep hands them over once
 * Temporal answers again. Starting and signalling are idempotent, so several API processes may
 * sweep at once.
 */
export class RecoverySweep {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;

  constructor(
    private readonly temporal: SessionClient,
    private readonly log: Logger,
    private readonly opts: { intervalMs: number; graceMs: number; batch?: number; concurrency?: number },
  ) {}

  start(): void {
    this.stopping = false;
    const tick = () => {
      let again = false;
      this.running = this.sweepOnce()
        .then((done) => {
          again = done.backlog;
        })
        .catch((err) => this.log.warn({ err: String(err) }, 'recovery sweep failed; will retry'))
        .finally(() => {
          this.running = null;
          if (this.timer) this.timer = setTimeout(tick, again ? 0 : this.opts.intervalMs);
        });
    };
    // The first pass at once: what a crash or an outage left waiting is handed over as soon as the API is up.
    this.timer = setTimeout(tick, 0);
  }

  /** Stops after the chunk in flight: shutdown must not wait for a whole backlog. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /**
   * One pass; returns how many sessions were started and conversions signalled, and whether a
   * backlog is left: a full batch read with progress made, so the next pass should start at once,
   * not an interval later (without progress, Temporal is away and the interval applies).
   */
  async sweepOnce(): Promise<{ sessions: number; conversions: number; backlog: boolean }> {
    const before = new Date(Date.now() - this.opts.graceMs);
    const batch = this.opts.batch ?? DEFAULT_BATCH;

    const pending = await sessions()
      .find({ workflowStarted: false, createdAt: { $lt: before } })
      .sort({ createdAt: 1 })
      .limit(batch)
      .toArray();
    const started = await this.inChunks(pending, async (record) => {
      await this.temporal.startSession(sessionSnapshot(record));
      return record._id;
    });
    // The workflow marks itself started too; marking here stops the next pass from retrying it.
    if (started.length) await sessions().updateMany({ _id: { $in: started } }, { $set: { workflowStarted: true } });

    const unsignalled = this.stopping
      ? []
      : await inbounds()
          .find({ signalled: false, outcome: 'accepted', at: { $lt: before } })
          .sort({ at: 1 })
          .limit(batch)
          .toArray();
    const signalled = await this.inChunks(unsignalled, async (inbound) => {
      const record = inbound.sessionId ? await sessions().findOne({ _id: inbound.sessionId }) : null;
      if (record && inbound.request) {
        const outcome = await this.temporal.signalConversion(sessionSnapshot(record), inbound.request as ConversionRequest);
        if (outcome === 'closed') this.log.warn({ requestId: inbound._id }, 'conversion recovered after its session closed');
      }
      return inbound._id;
    });
    if (signalled.length) await inbounds().updateMany({ _id: { $in: signalled } }, { $set: { signalled: true } });

    if (started.length || signalled.length) {
      this.log.info({ sessions: started.length, conversions: signalled.length }, 'recovered work handed to Temporal');
    }
    const backlog = (pending.length >= batch && started.length > 0) || (unsignalled.length >= batch && signalled.length > 0);
    return { sessions: started.length, conversions: signalled.length, backlog };
  }

  /**
   * Runs `work` over the items a chunk at a time, several at once. A failed item is left for the
   * next pass; a chunk in which every item failed means Temporal is still away, so the pass ends.
   */
  private async inChunks<T>(items: T[], work: (item: T) => Promise<string>): Promise<string[]> {
    const done: string[] = [];
    // As many starts in flight as the click path allows itself: after a burst the sweep drains it.
    const size = this.opts.concurrency ?? MAX_STARTS_IN_FLIGHT;
    for (let i = 0; i < items.length && !this.stopping; i += size) {
      const results = await Promise.allSettled(items.slice(i, i + size).map(work));
      const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      done.push(...ok);
      if (ok.length === 0) {
        const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        this.log.warn({ err: String(first?.reason) }, 'recovery sweep paused: Temporal did not answer');
        break;
      }
    }
    return done;
  }
}
