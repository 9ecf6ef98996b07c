import type { ConversionRequest } from '../domain/attribution-rules';
import type { Logger } from '../log';
import { inbounds } from '../persistence/models/inbound';
import { sessions, sessionSnapshot } from '../persistence/models/session';
import { MAX_STARTS_IN_FLIGHT, type SessionClient } from './session-client';

const DEFAULT_BATCH = 500;
/** Failures, while Temporal answers, after which an inbound conversion is given up with the error as its reason. */
const MAX_ITEM_FAILURES = 5;

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
  /** Items that failed while Temporal answered, by id: they are skipped past, then given up. */
  private readonly failures = new Map<string, number>();

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
      if (!record || !inbound.request) {
        await this.late(inbound._id, inbound.sessionId, record ? 'no conversion to hand over' : `session ${inbound.sessionId} not found`);
        return inbound._id;
      }
      const outcome = await this.temporal.signalConversion(sessionSnapshot(record), inbound.request as ConversionRequest);
      if (outcome === 'closed') {
        // Accepted (202) but its session closed before Temporal was back: never dropped silently.
        this.log.warn({ requestId: inbound._id, sessionId: record._id }, 'conversion recovered after its session closed');
        await this.late(inbound._id, record._id, 'the session had closed when the conversion could be handed to it (Temporal was unreachable until then)');
      }
      return inbound._id;
    }, async (inbound, err) => {
      await this.late(inbound._id, inbound.sessionId, `could not be handed to Temporal: ${String(err)}`);
    });
    if (signalled.length) await inbounds().updateMany({ _id: { $in: signalled } }, { $set: { signalled: true } });

    if (started.length || signalled.length) {
      this.log.info({ sessions: started.length, conversions: signalled.length }, 'recovered work handed to Temporal');
    }
    const backlog = (pending.length >= batch && started.length > 0) || (unsignalled.length >= batch && signalled.length > 0);
    return { sessions: started.length, conversions: signalled.length, backlog };
  }

  /** The terminal outcome of an accepted conversion the sweep could not deliver, with its reason, on its inbound record. */
  private async late(requestId: string, sessionId: string | null, reason: string): Promise<void> {
    await inbounds().updateOne({ _id: requestId }, { $set: { signalled: true, decision: { outcome: 'late', reason, conversionId: null, at: new Date() } } });
    this.log.warn({ requestId, sessionId, reason }, 'recovered conversion not counted');
  }

  /**
   * Runs `work` over the items a chunk at a time, several at once. A failed item is left for the
   * next pass. A chunk in which every item failed ends the pass when Temporal does not answer; when
   * it does, those items are what fails, so the pass goes on past them (they cannot block the
   * newer items behind them), and after MAX_ITEM_FAILURES such passes `giveUp` settles them.
   */
  private async inChunks<T extends { _id: string }>(items: T[], work: (item: T) => Promise<string>, giveUp?: (item: T, err: unknown) => Promise<void>): Promise<string[]> {
    const done: string[] = [];
    // As many starts in flight as the click path allows itself: after a burst the sweep drains it.
    const size = this.opts.concurrency ?? MAX_STARTS_IN_FLIGHT;
    for (let i = 0; i < items.length && !this.stopping; i += size) {
      const chunk = items.slice(i, i + size);
      const results = await Promise.allSettled(chunk.map(work));
      const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      done.push(...ok);
      for (const id of ok) this.failures.delete(id);
      if (ok.length === results.length) continue;
      const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (ok.length === 0 && !(await this.temporal.reachable())) {
        this.log.warn({ err: String(first?.reason) }, 'recovery sweep paused: Temporal did not answer');
        break;
      }
      for (const [k, r] of results.entries()) {
        if (r.status === 'fulfilled') continue;
        const item = chunk[k]!;
        const n = (this.failures.get(item._id) ?? 0) + 1;
        this.failures.set(item._id, n);
        this.log.warn({ id: item._id, failures: n, err: String(r.reason) }, 'recovery sweep: item refused; skipped for now');
        if (giveUp && n >= MAX_ITEM_FAILURES) {
          await giveUp(item, r.reason);
          this.failures.delete(item._id);
          done.push(item._id);
        }
      }
    }
    return done;
  }
}
