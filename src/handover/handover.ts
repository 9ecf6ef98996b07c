import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ConversionRequest, EventRule } from '../domain/attribution-rules';
import type { Logger } from '../log';
import type { HandoverKind, Metrics } from '../metrics';
import type { IdRangeClaim } from '../persistence/models/handover-state';
import { inbounds, type InboundRecord } from '../persistence/models/inbound';
import { sessions, sessionSnapshot, type SessionRecord } from '../persistence/models/session';
import type { SessionClient } from '../temporal/session-client';
import { CONVERSION_LOG } from './conversion-log';
import { EngineBacklog } from './engine-backlog';
import { claimRange, finishClaim, handedOver, type IdLog } from './id-ranges';
import { Pace, forEachPaced } from './pace';
import { SESSION_LOG, readState } from './session-ranges';

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
/** While the hot paths are pressed: the most items a claim takes, and the least time between rounds (so at most 16 sessions and 16 conversions a second). */
const YIELD_CLAIM = 16;
const YIELD_ROUND_MS = 1_000;
/** How long a look at the hot paths' pressure is reused (one small read): also read during a round, which it may cut short. */
const PRESSURE_READ_MS = 250;
/** How long a read of the session task queue's backlog is reused (one DescribeTaskQueue call). */
const ENGINE_BACKLOG_READ_MS = 1_000;
/** gRPC status codes of Temporal pushing back: resource exhausted, deadline exceeded. */
const PUSH_BACK_CODES = new Set([8, 4]);

export interface HandoverOptions {
  pollMs: number;
  concurrency: number;
  batch: number;
  leaseMs: number;
  /**
   * An item is handed over once its id is this old: a click's insert slower than that has started
   * its workflow itself, and a conversion's has been answered 503 (neither is the hand-over's).
   */
  settleMs: number;
  /**
   * The next round's delay after one that found nothing stored and no claim open (default pollMs).
   * An item stored later has an id no more than the hosts' clock allowance older than that round,
   * so up to settleMs minus that allowance it is found no later than it may be claimed.
   */
  idleMs?: number;
  /** Ask for eager starts: the SessionClient shares its NativeConnection with this process's worker. */
  eager: boolean;
  /** The campaign's event rules, sent with each conversion so that its session need not load them. */
  eventRules?: (campaignId: string) => Promise<EventRule[] | null>;
  /** Whether an API host's hot paths ask for the database now (models/hot-path-pressure.ts); default: never. */
  hotPathPressed?: (now: Date) => Promise<boolean>;
  /** How long a read of that is reused (default PRESSURE_READ_MS; tests: 0). */
  pressureReadMs?: number;
  /** Above this many workflow tasks waiting in the session task queue, no session is started (engine-backlog.ts); none: no limit. */
  maxEngineBacklog?: number;
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
  /** When the newest stored items will have settled (ms), if they are all that waits. */
  wakeAt: number | null;
  /** Neither log had anything stored past its cursor or any claim open. */
  idle: boolean;
}

type LogRound = { done: number; full: boolean; paused: boolean; wakeAt: number | null; idle: boolean };

interface Worked {
  /** Not handed over, to be tried again at once: not reached, Temporal away or pushing back. */
  release: string[];
  /** Waiting on an earlier conversion of their session that was not handed over: they go with it. */
  later: string[];
  /** Refused, with when to try them again. */
  held: [string, Date][];
  outage: boolean;
}

type ItemOutcome = { ok: true; later?: true } | { ok: false; err: unknown };

/**
 * Hands stored sessions and accepted conversions to Temporal, from the worker process: the click,
 * pixel and postback paths only write to MongoDB. Sessions get their workflow started (eagerly:
 * the start's answer carries the first workflow task for this process's worker), conversions are
 * signalled with signalWithStart (which also starts a lazy session's workflow). MongoDB is the
 * queue: both logs are walked in id order a range at a time (id-ranges.ts), handed over with
 * bounded concurrency at Temporal's pace, with one write per range and none per item.
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
  /** The hot paths are pressed: small claims, a round a second (they answer first, the engine catches up after). */
  private yielding = false;
  private pressureReadAt = 0;
  private pressureRead: Promise<void> | null = null;
  private readonly engine: EngineBacklog | null;

  constructor(
    private readonly temporal: SessionClient,
    private readonly o: HandoverOptions,
  ) {
    this.pace = new Pace(o.concurrency);
    o.metrics.handoverLimit.set(this.pace.limit);
    this.engine =
      o.maxEngineBacklog === undefined
        ? null
        : new EngineBacklog(() => temporal.workflowTaskBacklog(), {
            bound: o.maxEngineBacklog,
            readMs: ENGINE_BACKLOG_READ_MS,
            onRead: (n) => o.metrics.handoverEngineBacklog.set(n ?? -1),
            onError: (err) => o.log.debug({ err: String(err) }, "could not read the session task queue's backlog"),
          });
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
            next = this.nextRoundIn(r);
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
    await this.pressureRead;
    await this.engine?.settled();
  }

  /** Milliseconds until the round after `r` (not paused). */
  private nextRoundIn(r: RoundResult): number {
    if (this.yielding) return Math.max(YIELD_ROUND_MS, r.idle ? (this.o.idleMs ?? this.o.pollMs) : 0);
    if (r.backlog) return 0;
    if (r.idle) return this.o.idleMs ?? this.o.pollMs;
    if (r.wakeAt === null) return this.o.pollMs;
    return Math.min(this.o.pollMs, Math.max(0, r.wakeAt - Date.now()));
  }

  /** One round: a claim of sessions, then one of conversions. */
  async runOnce(): Promise<RoundResult> {
    await this.lookAtHotPaths();
    const s = await this.startSessions();
    const c = this.stopping || s.paused ? { done: 0, full: false, paused: s.paused, wakeAt: null, idle: false } : await this.signalConversions();
    const wakes = [s.wakeAt, c.wakeAt].filter((t): t is number => t !== null);
    return {
      sessions: s.done,
      conversions: c.done,
      // A full range moved the cursor, whatever it handed over (lazy sessions, rejected requests are passed over).
      backlog: (s.full && !s.paused) || (c.full && !c.paused),
      paused: s.paused || c.paused,
      wakeAt: wakes.length ? Math.min(...wakes) : null,
      idle: s.idle && c.idle,
    };
  }

  private claimOptions() {
    return { by: this.claimId(), leaseMs: this.o.leaseMs, limit: this.claimSize(), settleMs: this.o.settleMs };
  }

  /** The one write of a range: the claim ends, or keeps only what is to be tried again. */
  private async finish<T extends { _id: string }>(log: IdLog<T>, claim: IdRangeClaim, w: Worked): Promise<number> {
    const retry = [...w.release, ...w.later, ...w.held.map(([id]) => id)];
    const retryAt = w.release.length || !w.held.length ? new Date() : new Date(Math.min(...w.held.map(([, until]) => until.getTime())));
    await finishClaim(log, claim, retry, retryAt);
    return retry.length;
  }

  private claimSize(): number {
    return Math.min(this.o.batch, this.pace.limit * CLAIM_PER_CALL, this.yielding ? YIELD_CLAIM : Infinity);
  }

  /**
   * Whether to yield: what the API hosts said, read at most every PRESSURE_READ_MS (unread: as
   * before). Awaited at a round's start; during a round, read in the background, so that a press
   * that starts meanwhile cuts the round short (work()) instead of waiting for its end.
   */
  private lookAtHotPaths(): Promise<void> {
    const now = Date.now();
    if (!this.o.hotPathPressed || this.pressureRead || now - this.pressureReadAt < (this.o.pressureReadMs ?? PRESSURE_READ_MS)) return this.pressureRead ?? Promise.resolve();
    this.pressureReadAt = now;
    this.pressureRead = this.o
      .hotPathPressed(new Date(now))
      .catch((err: unknown) => {
        this.o.log.debug({ err: String(err) }, "could not read the hot paths' pressure");
        return this.yielding;
      })
      .then((pressed) => {
        if (pressed !== this.yielding) this.o.log.info(pressed ? 'hot paths pressed: handing over at a walk until they are not' : 'hot paths no longer pressed: handing over at full pace');
        this.yielding = pressed;
        this.o.metrics.handoverYielding.set(pressed ? 1 : 0);
      })
      .finally(() => (this.pressureRead = null));
    return this.pressureRead;
  }

  private async startSessions(): Promise<LogRound> {
    // The workers are behind: the sessions wait here, not in Temporal's queue (conversions still go).
    if (await this.engine?.behind()) return { done: 0, full: false, paused: false, wakeAt: null, idle: false };
    const got = await claimRange(SESSION_LOG, this.claimOptions());
    if (!got.claim) return { done: 0, full: false, paused: false, wakeAt: got.wakeAt, idle: got.idle };
    const { claim, items } = got;
    let started = 0;
    const result = await this.work({ until: claim.until, items }, 'session', async (record) => {
      const r = await this.temporal.startSession(sessionSnapshot(record), { sessionStored: true, landingUrl: record.landingUrl, eager: this.o.eager });
      if (r.eager) this.o.metrics.handoverEagerStarts.inc();
      // A closed workflow (REJECT_DUPLICATE) is a session started long ago (a range handed over twice): done too.
      started++;
      this.handedOver('session', 'started', record.createdAt);
    });
    const retry = await this.finish(SESSION_LOG, claim, result);
    this.o.log.debug({ kind: 'session', claimed: items.length, started, retry, limit: this.pace.limit }, 'hand-over batch');
    return { done: started, full: got.full, paused: result.outage, wakeAt: null, idle: false };
  }

  private async signalConversions(): Promise<LogRound> {
    const got = await claimRange(CONVERSION_LOG, this.claimOptions());
    if (!got.claim) return { done: 0, full: false, paused: false, wakeAt: got.wakeAt, idle: got.idle };
    const { claim, items } = got;
    const ids = [...new Set(items.flatMap((i) => (i.sessionId ? [i.sessionId] : [])))];
    const records = new Map((await sessions().find({ _id: { $in: ids } }).toArray()).map((r) => [r._id, r]));
    const state = await readState();
    let signalled = 0;
    const startedSessions = new Set<string>();
    const late = new Map<string, string[]>();
    const settleLate = (inbound: InboundRecord, reason: string) => {
      late.set(reason, [...(late.get(reason) ?? []), inbound._id]);
      this.o.metrics.handoverItems.inc({ kind: 'conversion', outcome: 'late' });
      this.o.log.warn({ requestId: inbound._id, sessionId: inbound.sessionId, reason }, 'accepted conversion not counted');
    };

    // One session's conversions go in the order they were accepted (an approval, then its
    // rejection): each waits for the one before it in the claim, and goes back with it, to come
    // again when the claim does, when that one was not handed over.
    const previous = new Map<string, Promise<boolean>>();
    const result = await this.work(
      { until: claim.until, items },
      'conversion',
      async (inbound) => {
        const before = inbound.sessionId ? previous.get(inbound.sessionId) : undefined;
        let done!: (ok: boolean) => void;
        if (inbound.sessionId) previous.set(inbound.sessionId, new Promise<boolean>((r) => (done = r)));
        const ok = before ? await before : true;
        try {
          if (!ok) return 'later';
          if (await this.signalOne(inbound, records, settleLate)) {
            signalled++;
            const record = records.get(inbound.sessionId!)!;
            if (record.workflowStarted !== true && (record.lazy || !handedOver(state, record._id))) startedSessions.add(record._id);
          }
          done?.(true);
        } finally {
          done?.(false);
        }
      },
      (inbound, err) => settleLate(inbound, `could not be handed to Temporal: ${String(err)}`),
    );

    // Before the claim ends: a process that dies here leaves the claim to be taken again, and these
    // writes are made again (a decision is never overwritten).
    for (const [reason, lateIds] of late) {
      await inbounds().updateMany({ _id: { $in: lateIds }, decision: { $exists: false } }, { $set: { decision: { outcome: 'late', reason, conversionId: null, at: new Date() } } });
    }
    // signalWithStart started these (a lazy session, or one the walk has not reached): marked, so
    // that the walk passes them over and the session API knows.
    if (startedSessions.size) await sessions().updateMany({ _id: { $in: [...startedSessions] } }, { $set: { workflowStarted: true } });
    const retry = await this.finish(CONVERSION_LOG, claim, result);
    const settled = [...late.values()].reduce((n, l) => n + l.length, 0);
    this.o.log.debug({ kind: 'conversion', claimed: items.length, signalled, late: settled, retry, limit: this.pace.limit }, 'hand-over batch');
    return { done: signalled + settled, full: got.full, paused: result.outage, wakeAt: null, idle: false };
  }

  /** Hands one accepted conversion to its session's workflow (signalWithStart): true, else it is settled late. */
  private async signalOne(inbound: InboundRecord, records: Map<string, SessionRecord>, settleLate: (inbound: InboundRecord, reason: string) => void): Promise<boolean> {
    const record = inbound.sessionId ? records.get(inbound.sessionId) : undefined;
    if (!record || !inbound.request) {
      settleLate(inbound, record ? 'no conversion to hand over' : `session ${inbound.sessionId} not found`);
      return false;
    }
    const request = { ...(inbound.request as ConversionRequest), ...(await this.eventRules(record.campaignId)) };
    const outcome = await this.temporal.signalConversion(sessionSnapshot(record), request, { landingUrl: record.landingUrl });
    // Accepted (202) but its session closed before it could be handed over: never dropped silently.
    if (outcome === 'closed') {
      settleLate(inbound, 'the session had closed when the conversion could be handed to it (Temporal, or every worker, was away until then)');
      return false;
    }
    this.handedOver('conversion', 'signalled', inbound.at);
    return true;
  }

  /** `{ eventRules }` from the configuration cache, or nothing (the session loads them) when the lookup fails. */
  private async eventRules(campaignId: string): Promise<Pick<ConversionRequest, 'eventRules'>> {
    try {
      return this.o.eventRules ? { eventRules: await this.o.eventRules(campaignId) } : {};
    } catch {
      return {};
    }
  }

  /**
   * Runs `handOver` over a claim at Temporal's pace. A failure is an outage when Temporal does not
   * answer (the round stops, nothing counts against the items), a push-back when it answers
   * resource exhausted or a deadline (fewer in flight; the item is retried), else a refusal of that
   * item: it is held back a while, retried, and after MAX_ITEM_FAILURES given up when `giveUp` is
   * given (a conversion, settled with the error); a session is retried for as long as it takes.
   * Returns the ids to give back at once (not handed over), the ones that wait on another, and the
   * refused ones with when to retry them.
   */
  private async work<T extends { _id: string }>(
    batch: { until: Date; items: T[] },
    kind: HandoverKind,
    handOver: (item: T) => Promise<void | 'later'>,
    giveUp?: (item: T, err: unknown) => void,
  ): Promise<Worked> {
    const giveBack: string[] = [];
    const later: string[] = [];
    const held: [string, Date][] = [];
    const launched = new Set<string>();
    let reachable: Promise<boolean> | null = null;
    let outage = false;
    const stopAt = batch.until.getTime() - Math.min(LEASE_MARGIN_MS, this.o.leaseMs / 2);
    const pressed = () => {
      void this.lookAtHotPaths();
      return this.yielding && launched.size >= YIELD_CLAIM;
    };
    const stop = () => this.stopping || outage || Date.now() >= stopAt || pressed();

    await forEachPaced(batch.items, this.pace, stop, async (item) => {
      launched.add(item._id);
      const outcome = await this.call(() => handOver(item));
      if (outcome.ok) {
        if (outcome.later) later.push(item._id);
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
    // Items not reached (stopping, an outage, the lease near its end, the hot paths pressed) go back with the ones to retry now.
    const notReached = batch.items.filter((i) => !launched.has(i._id)).map((i) => i._id);
    return { release: [...giveBack, ...notReached], later, held, outage };
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
