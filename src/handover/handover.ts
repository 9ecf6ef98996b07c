import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ConversionRequest } from '../domain/attribution-rules';
import type { Logger } from '../log';
import type { HandoverKind, Metrics } from '../metrics';
import { inbounds, type InboundRecord } from '../persistence/models/inbound';
import { sessions, sessionSnapshot, type SessionRecord } from '../persistence/models/session';
import type { SessionClient } from '../temporal/session-client';
import { claim, holdUntil, release, type Claim } from './leases';
import { Pace, forEachPaced } from './pace';
import { claimSessions, finishClaim, handedOver, readState } from './session-ranges';

/** Refusals, while Temporal answers, after which an accepted conversion is given up with the error as its reason. */
const MAX_ITEM_FAILURES = 5;
/** A refused item waits this long before it is tried again, doubled per refusal (up to the lease). */
const RETRY_BASE_MS = 500;
/** The longest pause while Temporal does not answer (doubling from the poll interval). */
const MAX_PAUSE_MS = 5_000;
/** Items per claim per call allowed in flight: a claim is done well within its lease even at the lowest pace. */
const CLAIM_PER_CALL = 4;
/** A claim stops taking new items this long before its lease ends, so none is worked on past it. */
const LEASE_MARGIN_MS = 5_000;
/** gRPC status codes of Temporal pushing back: resource exhausted, deadline exceeded. */
const PUSH_BACK_CODES = new Set([8, 4]);

export interface HandoverOptions {
  pollMs: number;
  concurrency: number;
  batch: number;
  leaseMs: number;
  /** A session is started once it is this old: a click's insert slower than that has started its workflow itself. */
  settleMs: number;
  /** Ask for eager starts: the SessionClient shares its NativeConnection with this process's worker. */
  eager: boolean;
  log: Logger;
  metrics: Metrics;
}

export interface RoundResult {
  sessions: number;
  conversions: number;
  /** A claim came back full with progress made: more is waiting, the next round goes at once. */
  backlog: boolean;
  /** Temporal did not answer: the next round waits longer (doubling). */
  paused: boolean;
  /** When the newest stored sessions will have settled (ms), if they are all that waits. */
  wakeAt: number | null;
}

type ItemOutcome = { ok: true; later?: true } | { ok: false; err: unknown };

/**
 * Hands stored sessions and accepted conversions to Temporal, from the worker process: the click,
 * pixel and postback paths only write to MongoDB. Sessions get their workflow started (eagerly:
 * the start's answer carries the first workflow task for this process's worker), conversions are
 * signalled with signalWithStart (which also starts a lazy session's workflow). MongoDB is the
 * queue: items are claimed with a lease, handed over with bounded concurrency at Temporal's pace,
 * and marked done a batch at a time.
 */
export class Handover {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private claims = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  private pauseMs = 0;
  /** Refusals so far, by item id (this process's view; another process starts counting afresh). */
  private readonly failures = new Map<string, number>();
  private readonly pace: Pace;

  constructor(
    private readonly temporal: SessionClient,
    private readonly o: HandoverOptions,
  ) {
    this.pace = new Pace(o.concurrency);
    o.metrics.handoverLimit.set(this.pace.limit);
  }

  start(): void {
    this.stopping = false;
    const tick = () => {
      let next = this.o.pollMs;
      this.running = this.runOnce()
        .then((r) => {
          if (r.paused) {
            this.pauseMs = Math.min(MAX_PAUSE_MS, Math.max(this.o.pollMs, this.pauseMs * 2));
            next = this.pauseMs;
          } else {
            if (this.pauseMs > 0) this.o.log.info('hand-over resumed: Temporal answers again');
            this.pauseMs = 0;
            next = r.backlog ? 0 : r.wakeAt === null ? this.o.pollMs : Math.min(this.o.pollMs, Math.max(0, r.wakeAt - Date.now()));
          }
        })
        .catch((err) => this.o.log.warn({ err: String(err) }, 'hand-over round failed (MongoDB?); will retry'))
        .finally(() => {
          this.running = null;
          if (!this.stopping) this.timer = setTimeout(tick, next);
        });
    };
    // At once: what waited while no worker ran (a restart, an outage) is handed over first.
    this.timer = setTimeout(tick, 0);
  }

  /** Stops after the calls in flight, giving back the items not handed over. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round: a claim of sessions, then one of conversions. */
  async runOnce(): Promise<RoundResult> {
    const s = await this.startSessions();
    const c = this.stopping || s.paused ? { done: 0, full: false, paused: s.paused } : await this.signalConversions();
    return {
      sessions: s.done,
      conversions: c.done,
      // A full range moved the cursor, whatever it started (lazy sessions are skipped).
      backlog: (s.full && !s.paused) || (c.full && c.done > 0),
      paused: s.paused || c.paused,
      wakeAt: s.wakeAt,
    };
  }

  private claimSize(): number {
    return Math.min(this.o.batch, this.pace.limit * CLAIM_PER_CALL);
  }

  private async startSessions(): Promise<{ done: number; full: boolean; paused: boolean; wakeAt: number | null }> {
    const got = await claimSessions({ by: this.claimId(), leaseMs: this.o.leaseMs, limit: this.claimSize(), settleMs: this.o.settleMs });
    if (!got.claim) return { done: 0, full: false, paused: false, wakeAt: got.wakeAt };
    const { claim, items } = got;
    let started = 0;
    const result = await this.work({ until: claim.until, items }, 'session', async (record) => {
      const r = await this.temporal.startSession(sessionSnapshot(record), { sessionStored: true, landingUrl: record.landingUrl, eager: this.o.eager });
      if (r.eager) this.o.metrics.handoverEagerStarts.inc();
      // A closed workflow (REJECT_DUPLICATE) is a session started long ago (a range handed over twice): done too.
      started++;
      this.handedOver('session', 'started', record.createdAt);
    });
    // The one write of the batch: the claim ends, or keeps only what is to be tried again.
    const retry = [...result.release, ...result.held.map(([id]) => id)];
    const retryAt = result.release.length || !result.held.length ? new Date() : new Date(Math.min(...result.held.map(([, until]) => until.getTime())));
    await finishClaim(claim, retry, retryAt);
    this.o.log.debug({ kind: 'session', claimed: items.length, started, retry: retry.length, limit: this.pace.limit }, 'hand-over batch');
    return { done: started, full: got.full, paused: result.outage, wakeAt: null };
  }

  private async signalConversions(): Promise<{ done: number; full: boolean; paused: boolean }> {
    const limit = this.claimSize();
    const batch = await claim(inbounds(), { queue: { signalled: false, outcome: 'accepted' }, sort: { at: 1 }, limit, by: this.claimId(), leaseMs: this.o.leaseMs });
    if (batch.items.length === 0) return { done: 0, full: false, paused: false };
    const ids = [...new Set(batch.items.flatMap((i) => (i.sessionId ? [i.sessionId] : [])))];
    const records = new Map((await sessions().find({ _id: { $in: ids } }).toArray()).map((r) => [r._id, r]));
    const state = await readState();
    const signalled: string[] = [];
    const startedSessions = new Set<string>();
    const late = new Map<string, string[]>();
    const settleLate = (inbound: InboundRecord, reason: string) => {
      late.set(reason, [...(late.get(reason) ?? []), inbound._id]);
      this.o.metrics.handoverItems.inc({ kind: 'conversion', outcome: 'late' });
      this.o.log.warn({ requestId: inbound._id, sessionId: inbound.sessionId, reason }, 'accepted conversion not counted');
    };

    // One session's conversions go in the order they were accepted (an approval, then its
    // rejection): each waits for the one before it in the claim, and is given back, to come again
    // in the next claim, when that one was not handed over.
    const previous = new Map<string, Promise<boolean>>();
    const result = await this.work(
      batch,
      'conversion',
      async (inbound) => {
        const before = inbound.sessionId ? previous.get(inbound.sessionId) : undefined;
        let done!: (ok: boolean) => void;
        if (inbound.sessionId) previous.set(inbound.sessionId, new Promise<boolean>((r) => (done = r)));
        const ok = before ? await before : true;
        try {
          if (!ok) return 'later';
          await this.signalOne(inbound, records, settleLate, signalled, (record) => {
            if (record.workflowStarted !== true && (record.lazy || !handedOver(state, record._id))) startedSessions.add(record._id);
          });
          done?.(true);
        } finally {
          done?.(false);
        }
      },
      (inbound, err) => settleLate(inbound, `could not be handed to Temporal: ${String(err)}`),
    );

    for (const [id, until] of result.held) await holdUntil(inbounds(), batch.by, id, until);
    if (signalled.length) await inbounds().updateMany({ _id: { $in: signalled } }, { $set: { signalled: true }, $unset: { handoverLease: '' } });
    for (const [reason, lateIds] of late) {
      await inbounds().updateMany(
        { _id: { $in: lateIds } },
        { $set: { signalled: true, decision: { outcome: 'late', reason, conversionId: null, at: new Date() } }, $unset: { handoverLease: '' } },
      );
    }
    // signalWithStart started these (a lazy session, or one the walk has not reached): marked, so
    // that the walk passes them over and the session API knows.
    if (startedSessions.size) await sessions().updateMany({ _id: { $in: [...startedSessions] } }, { $set: { workflowStarted: true } });
    await release(inbounds(), batch.by, result.release);
    const done = signalled.length + [...late.values()].reduce((n, l) => n + l.length, 0);
    this.o.log.debug({ kind: 'conversion', claimed: batch.items.length, signalled: signalled.length, late: done - signalled.length, released: result.release.length, limit: this.pace.limit }, 'hand-over batch');
    return { done, full: batch.items.length >= limit, paused: result.outage };
  }

  /** Hands one accepted conversion to its session's workflow (signalWithStart), or settles it late. */
  private async signalOne(
    inbound: InboundRecord,
    records: Map<string, SessionRecord>,
    settleLate: (inbound: InboundRecord, reason: string) => void,
    signalled: string[],
    started: (record: SessionRecord) => void,
  ): Promise<void> {
    const record = inbound.sessionId ? records.get(inbound.sessionId) : undefined;
    if (!record || !inbound.request) return settleLate(inbound, record ? 'no conversion to hand over' : `session ${inbound.sessionId} not found`);
    const outcome = await this.temporal.signalConversion(sessionSnapshot(record), inbound.request as ConversionRequest, { landingUrl: record.landingUrl });
    // Accepted (202) but its session closed before it could be handed over: never dropped silently.
    if (outcome === 'closed') return settleLate(inbound, 'the session had closed when the conversion could be handed to it (Temporal, or every worker, was away until then)');
    started(record);
    signalled.push(inbound._id);
    this.handedOver('conversion', 'signalled', inbound.at);
  }

  /**
   * Runs `handOver` over a claim at Temporal's pace. A failure is an outage when Temporal does not
   * answer (the round stops, nothing counts against the items), a push-back when it answers
   * resource exhausted or a deadline (fewer in flight; the item is retried), else a refusal of that
   * item: it is held back a while, retried, and after MAX_ITEM_FAILURES given up when `giveUp` is
   * given (a conversion, settled with the error); a session is retried for as long as it takes.
   * Returns the ids to give back at once (not handed over) and the refused ones with when to retry them.
   */
  private async work<T extends { _id: string }>(
    batch: Pick<Claim<T>, 'until' | 'items'>,
    kind: HandoverKind,
    handOver: (item: T) => Promise<void | 'later'>,
    giveUp?: (item: T, err: unknown) => void,
  ): Promise<{ release: string[]; held: [string, Date][]; outage: boolean }> {
    const giveBack: string[] = [];
    const held: [string, Date][] = [];
    const launched = new Set<string>();
    let reachable: Promise<boolean> | null = null;
    let outage = false;
    const stopAt = batch.until.getTime() - Math.min(LEASE_MARGIN_MS, this.o.leaseMs / 2);
    const stop = () => this.stopping || outage || Date.now() >= stopAt;

    await forEachPaced(batch.items, this.pace, stop, async (item) => {
      launched.add(item._id);
      const outcome = await this.call(() => handOver(item));
      if (outcome.ok) {
        if (outcome.later) giveBack.push(item._id);
        else this.failures.delete(item._id);
        return;
      }
      if (isPushBack(outcome.err)) {
        reachable ??= this.temporal.reachable();
        if (!(await reachable)) outage = true;
        else {
          this.pace.pushedBack();
          this.o.metrics.handoverPauses.inc({ reason: 'overloaded' });
        }
        this.o.metrics.handoverLimit.set(this.pace.limit);
        giveBack.push(item._id);
        return;
      }
      reachable ??= this.temporal.reachable();
      if (!(await reachable)) {
        outage = true;
        giveBack.push(item._id);
        return;
      }
      const n = (this.failures.get(item._id) ?? 0) + 1;
      this.failures.set(item._id, n);
      this.o.metrics.handoverItems.inc({ kind, outcome: 'failed' });
      if (giveUp && n >= MAX_ITEM_FAILURES) {
        this.failures.delete(item._id);
        this.o.metrics.handoverItems.inc({ kind, outcome: 'given_up' });
        giveUp(item, outcome.err);
        return;
      }
      this.o.log.warn({ kind, id: item._id, failures: n, err: String(outcome.err) }, 'hand-over: Temporal refused an item; retried later');
      held.push([item._id, new Date(Date.now() + Math.min(this.o.leaseMs, RETRY_BASE_MS * 2 ** (n - 1)))]);
    });

    if (outage) {
      this.o.metrics.handoverPauses.inc({ reason: 'unreachable' });
      if (this.pauseMs === 0) this.o.log.warn({ kind }, 'hand-over paused: Temporal did not answer; items stay queued in MongoDB');
    }
    // Items not reached (stopping, an outage, the lease near its end) go back with the ones to retry now.
    const notReached = batch.items.filter((i) => !launched.has(i._id)).map((i) => i._id);
    return { release: [...giveBack, ...notReached], held, outage };
  }

  /** One Temporal call, counted in flight and timed for the pace. */
  private async call(fn: () => Promise<void | 'later'>): Promise<ItemOutcome> {
    const t0 = Date.now();
    this.o.metrics.handoverInFlight.inc();
    try {
      if ((await fn()) === 'later') return { ok: true, later: true };
      this.pace.answered(Date.now() - t0);
      return { ok: true };
    } catch (err) {
      return { ok: false, err };
    } finally {
      this.o.metrics.handoverInFlight.dec();
      this.o.metrics.handoverLimit.set(this.pace.limit);
    }
  }

  private handedOver(kind: HandoverKind, outcome: 'started' | 'signalled', since: Date): void {
    this.o.metrics.handoverItems.inc({ kind, outcome });
    this.o.metrics.handoverLag.observe({ kind }, Math.max(0, Date.now() - since.getTime()) / 1000);
  }

  private claimId(): string {
    return `${this.owner}#${++this.claims}`;
  }
}

/** Temporal answered that it is overloaded (resource exhausted) or did not answer in time. */
function isPushBack(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number' && PUSH_BACK_CODES.has(code)) return true;
  }
  return false;
}
