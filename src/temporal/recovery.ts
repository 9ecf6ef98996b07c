import type { ConversionRequest } from '../domain/attribution-rules';
import type { Logger } from '../log';
import { inbounds } from '../persistence/models/inbound';
import { sessions, sessionSnapshot } from '../persistence/models/session';
import type { SessionClient } from './session-client';

/**
 * The other half of "durable before the redirect": clicks and conversions accepted while Temporal
 * was unreachable sit in MongoDB flagged as not yet handed over. This sweep hands them over once
 * Temporal answers again. Starting and signalling are idempotent, so several API processes may
 * sweep at once.
 */
export class RecoverySweep {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly temporal: SessionClient,
    private readonly log: Logger,
    private readonly opts: { intervalMs: number; graceMs: number; batch?: number },
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.sweepOnce()
        .then(() => undefined)
        .catch((err) => this.log.warn({ err: String(err) }, 'recovery sweep failed; will retry'))
        .finally(() => {
          this.running = null;
          if (this.timer) this.timer = setTimeout(tick, this.opts.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass; returns how many sessions were started and conversions signalled. */
  async sweepOnce(): Promise<{ sessions: number; conversions: number }> {
    const before = new Date(Date.now() - this.opts.graceMs);
    const batch = this.opts.batch ?? 500;
    let started = 0;
    let signalled = 0;

    const pending = await sessions()
      .find({ workflowStarted: false, createdAt: { $lt: before } })
      .sort({ createdAt: 1 })
      .limit(batch)
      .toArray();
    for (const record of pending) {
      await this.temporal.startSession(sessionSnapshot(record));
      // The workflow marks itself started too; marking here stops the next pass from retrying it.
      await sessions().updateOne({ _id: record._id }, { $set: { workflowStarted: true } });
      started++;
    }

    const unsignalled = await inbounds()
      .find({ signalled: false, outcome: 'accepted', at: { $lt: before } })
      .sort({ at: 1 })
      .limit(batch)
      .toArray();
    for (const inbound of unsignalled) {
      const record = inbound.sessionId ? await sessions().findOne({ _id: inbound.sessionId }) : null;
      if (record && inbound.request) {
        const outcome = await this.temporal.signalConversion(sessionSnapshot(record), inbound.request as ConversionRequest);
        if (outcome === 'closed') this.log.warn({ requestId: inbound._id }, 'conversion recovered after its session closed');
      }
      await inbounds().updateOne({ _id: inbound._id }, { $set: { signalled: true } });
      signalled++;
    }
    if (started || signalled) this.log.info({ sessions: started, conversions: signalled }, 'recovered work handed to Temporal');
    return { sessions: started, conversions: signalled };
  }
}
