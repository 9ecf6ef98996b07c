import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DecisionInput } from '../activities/inbound-decisions';
import {
  decide,
  finalStatus,
  type ConversionRequest,
  type CountedConversion,
} from '../src/domain/attribution-rules';
import type { DeliveryPolicy, DeliveryRequest, SessionSnapshot } from '../src/domain/session';
import { SessionStatus, conversionSignal, sessionQuery } from './definitions';
import { startDeliveries } from './delivery';

export interface SessionWorkflowInput {
  session: SessionSnapshot;
  delivery: DeliveryPolicy;
  /** Conversions handled per run before continuing as new, to keep history bounded. */
  maxConversionsPerRun?: number;
  /**
   * How long the workflow stays open after the window closes, so that a conversion received in the
   * window but signalled late (call deadline, recovery sweep) still counts. Absent: 0.
   */
  closeGraceMs?: number;
  /** How long one database step may keep retrying before the run hands it to the next (default: an hour). */
  stepLifeMs?: number;
  /**
   * true: the session's record is already in MongoDB (the hand-over starts workflows for stored
   * clicks), so the workflow makes no database write at its start; false or absent: the workflow
   * stores it (the click path's fallback when MongoDB is down, and older callers).
   */
  sessionStored?: boolean;
  /**
   * true: recording a conversion writes its request's decision in the same step, one local
   * activity less per conversion. Absent (sessions started before): a step of its own, so their
   * histories replay as recorded. The input decides: no patch marker.
   */
  decisionWithConversion?: boolean;
  carried?: CarriedState;
}

interface IgnoredSignal {
  requestId: string;
  event: string;
  reason: string;
  atMs: number;
}

interface CarriedState {
  counted: CountedConversion[];
  ignored: IgnoredSignal[];
  recentRequestIds: string[];
  queue: ConversionRequest[];
  runs: number;
  /** false: the session's record was not stored yet when the previous run gave up on it. */
  persisted?: boolean;
}

export interface SessionView {
  sessionId: string;
  campaignId: string;
  publisherId: string;
  status: 'open' | 'converted' | 'expired';
  expiresAt: string;
  /** The latest conversions (at most VIEW_CONVERSIONS); conversionCount counts them all. */
  conversions: CountedConversion[];
  conversionCount: number;
  ignored: IgnoredSignal[];
  queued: number;
  run: number;
}

const KEEP_REQUEST_IDS = 1000;
const KEEP_IGNORED = 50;
/** A query answers with this many conversions at most: its payload stays small whatever the session holds. */
const VIEW_CONVERSIONS = 100;
/**
 * Conversions one session counts at most. The carried state holds each (about 250 bytes), and a
 * continue-as-new input must stay under Temporal's 2 MB payload limit; past this, new conversions
 * are ignored with the reason (status updates of counted ones still apply).
 */
export const MAX_CONVERSIONS_PER_SESSION = 2_000;

const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // Persistence must outlast a database outage: retry without a cap on attempts.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// The session's own steps are short database calls. As local activities they run inside the
// workflow task that needs them: no activity task through matching and no extra workflow task per
// step, so a click's workflow start and a conversion cost the Temporal server far fewer writes.
// Deliveries stay regular activities: they retry for hours.
const local = proxyLocalActivities<Activities>({
  // As long as the regular activities: a database under load or failing over may take seconds.
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  // Past a few quick retries (a database outage), wait on a workflow timer instead of in the worker:
  // a worker-side wait keeps the workflow task alive and adds a heartbeat to history every ~8 s,
  // ~1,350 events an hour per session; timers at most a minute apart add ~360.
  localRetryThreshold: '10 seconds',
});

// The step that notifies makes each delivery's first attempt itself: it lasts as long as a request
// may (the delivery timeout), the attempt's record and the start of its retries.
const notifying = (policy: DeliveryPolicy) =>
  proxyLocalActivities<Activities>({
    startToCloseTimeout: Math.max(30_000, policy.timeoutMs + 15_000),
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
    localRetryThreshold: '10 seconds',
  });

// The same steps with a bounded life. A step still failing after its life (an hour by default: a
// database outage) gives up; the workflow puts its conversion back on the queue and continues as
// new, so each run's history stays small however long the outage lasts. Per run of one hour: 20
// attempts, 15 backoff timers (~75 events), and up to ~225 events of workflow-task heartbeats while
// attempts hang for their 30 s: at most ~350 events a run, about 20 runs (~7,000 events) a day,
// never near the 51,200-event limit of one history.
const STEP_LIFE_MS = 3_600_000;
const MAX_BACKOFF_MS = 300_000;
const boundedLocal = (lifeMs: number) =>
  proxyLocalActivities<Activities>({
    startToCloseTimeout: Math.min(30_000, lifeMs),
    // The life is bounded by attempts (the SDK's local activities do not end retries at a
    // schedule-to-close timeout): as many as the backoff fits into it.
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: MAX_BACKOFF_MS, maximumAttempts: attemptsWithin(lifeMs) },
    localRetryThreshold: '10 seconds',
  });

function attemptsWithin(lifeMs: number): number {
  let attempts = 1;
  let waited = 0;
  for (let backoff = 1_000; waited + backoff <= lifeMs; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
    waited += backoff;
    attempts++;
  }
  return attempts;
}

/** One click: holds the session open for its attribution window and attributes its conversions. */
export async function sessionWorkflow(input: SessionWorkflowInput): Promise<{ status: string; conversions: number }> {
  const { session } = input;
  const maxPerRun = input.maxConversionsPerRun ?? 200;
  const state: CarriedState = input.carried ?? { counted: [], ignored: [], recentRequestIds: [], queue: [], runs: 0 };
  const seen = new Set(state.recentRequestIds);
  let status: SessionView['status'] = state.counted.length > 0 ? finalStatus(state.counted) : 'open';
  if (status === 'expired') status = 'open';

  // A redelivered signal (same request id) is dropped here, before it can be counted again.
  setHandler(conversionSignal, (req) => {
    if (seen.has(req.requestId)) return;
    seen.add(req.requestId);
    state.recentRequestIds.push(req.requestId);
    if (state.recentRequestIds.length > KEEP_REQUEST_IDS) seen.delete(state.recentRequestIds.shift()!);
    state.queue.push(req);
  });
  setHandler(sessionQuery, () => ({
    sessionId: session.sessionId,
    campaignId: session.campaignId,
    publisherId: session.publisherId,
    status,
    expiresAt: new Date(session.expiresAtMs).toISOString(),
    conversions: state.counted.slice(-VIEW_CONVERSIONS),
    conversionCount: state.counted.length,
    ignored: state.ignored,
    queued: state.queue.length,
    run: state.runs,
  }));

  // The least Temporal work per session: no step at the start when the session is stored, one
  // timer for the window, SessionStatus upserted only when it changes, deliveries started by a
  // local activity instead of as children. It implies every earlier patch, which a session started
  // by this code therefore never calls: each patch the SDK records also upserts the
  // TemporalChangeVersion search attribute, a command and a Temporal Cloud Action of its own.
  const lean = patched('session-least-work');
  // Sessions started before the local activities replay with the activities they recorded; those
  // started before the window-end rules (decide on the queue, grace, bounded steps) replay without.
  const localSteps = lean || patched('session-local-activities');
  const windowEnd = lean || (localSteps && patched('session-window-end'));
  const store = localSteps ? (windowEnd ? boundedLocal(input.stepLifeMs ?? STEP_LIFE_MS) : local) : db;
  const continueLater = async (carried: CarriedState | undefined): Promise<never> => {
    await condition(allHandlersFinished);
    return continueAsNew<typeof sessionWorkflow>({ ...input, carried });
  };
  const carriedNext = (): CarriedState => ({ ...state, runs: state.runs + 1 });

  const storedAlready = lean && input.sessionStored === true;
  const decisionWithConversion = lean && input.decisionWithConversion === true;
  if ((!input.carried && !storedAlready) || input.carried?.persisted === false) {
    try {
      await store.persistSession(session);
      delete state.persisted;
    } catch (err) {
      // The database stayed away for the step's whole life: go on in a fresh history, signals kept.
      if (windowEnd && isGiveUp(err)) await continueLater({ ...carriedNext(), persisted: false });
      throw err;
    }
  }

  let handledThisRun = 0;
  let windowTimer: Promise<void> | null = null;
  const closesAtMs = session.expiresAtMs + (windowEnd ? (input.closeGraceMs ?? 0) : 0);
  for (;;) {
    for (;;) {
      if (state.queue.length === 0) {
        const remaining = closesAtMs - Date.now();
        if (windowEnd) {
          // Decided on the queue, not on the race: a signal applied in the same activation as the
          // timer has been queued already, and must be handled, not dropped.
          if (remaining > 0) {
            if (lean) {
              // One timer for the whole window: `condition` with a timeout cancels its timer when a
              // signal wins and starts another (an Action and a stale timer task per conversion).
              windowTimer ??= sleep(remaining);
              await Promise.race([windowTimer, condition(() => state.queue.length > 0)]);
            } else await condition(() => state.queue.length > 0, remaining);
          }
          if (state.queue.length === 0) break;
        } else if (remaining <= 0 || !(await condition(() => state.queue.length > 0, remaining))) break;
      }
      const req = state.queue.shift()!;
      try {
        await handle(req);
      } catch (err) {
        if (!(windowEnd && isGiveUp(err))) throw err;
        state.queue.unshift(req);
        await continueLater(carriedNext());
      }
      handledThisRun++;
      if (handledThisRun >= maxPerRun || workflowInfo().continueAsNewSuggested) await continueLater(carriedNext());
    }

    status = finalStatus(state.counted);
    // An expiring session keeps SessionStatus "open": closed and not converted is what expired
    // means in the Temporal UI, and the upsert would cost an Action on most clicks.
    if (!(lean && status === 'expired' && shownStatus() === 'open')) showStatus(status);
    try {
      await store.closeSession(session.sessionId, status);
    } catch (err) {
      if (!(windowEnd && isGiveUp(err))) throw err;
      await continueLater(carriedNext());
    }
    // A signal that arrived while the session was being closed is handled before the end.
    if (!windowEnd || state.queue.length === 0) break;
  }
  return { status, conversions: state.counted.length };

  async function handle(req: ConversionRequest): Promise<void> {
    // Carried by the hand-over's signal: one step, one activation and one marker less per conversion.
    const rules = req.eventRules !== undefined ? req.eventRules : await store.loadEventRules(session.campaignId);
    const decision = decide(state.counted, req, rules, session.expiresAtMs, {
      pixelMayUpdate: req.source === 'pixel' && !(lean || patched('pixel-never-changes-status')),
    });
    if (decision.kind === 'ignore') return ignore(req, decision.reason, decision.duplicate ? 'duplicate' : 'ignored');

    if (decision.kind === 'update') {
      const conv = state.counted.find((c) => c.conversionId === decision.conversionId)!;
      const before = { status: conv.status, notifications: conv.notifications };
      conv.status = decision.status;
      conv.notifications++;
      let deliveries: DeliveryRequest[];
      try {
        deliveries = await store.updateConversionStatus({
          session,
          conversionId: conv.conversionId,
          status: decision.status,
          notification: conv.notifications,
          ...(req.decision ? { reason: req.decision.reason, decidedBy: req.decision.by } : {}),
        });
      } catch (err) {
        if (!windowEnd) throw err;
        // Not applied: the state stays as stored (a retried request updates it then).
        Object.assign(conv, before);
        const permanent = permanentFailure(err);
        if (permanent === null) throw err;
        return ignore(req, permanent, 'ignored', conv.conversionId);
      }
      await decided(req, 'updated', null, conv.conversionId);
      // The status that makes a session count (rejected → approved) makes it converted now, as a
      // first counting conversion does; the stored status follows in the same step.
      if (windowEnd && status === 'open' && decision.status !== 'rejected') markConverted();
      return notify(deliveries, req.event);
    }
    if (windowEnd && state.counted.length >= MAX_CONVERSIONS_PER_SESSION) {
      return ignore(req, `session has counted its maximum of ${MAX_CONVERSIONS_PER_SESSION} conversions`, 'ignored');
    }

    // Derived from the request, so a conversion whose recording landed but whose step failed (and
    // was retried in a later run, after continue-as-new) keeps its id: its second insert meets the
    // first instead of counting the conversion twice or calling it a duplicate of itself. An
    // inbound request makes at most one conversion.
    const conversionId = lean || patched('conversion-id-from-request') ? req.requestId : uuid4();
    let result: Awaited<ReturnType<typeof store.recordConversion>>;
    try {
      result = await store.recordConversion({
        session,
        conversionId,
        request: req,
        payoutMinor: decision.payoutMinor,
        revenueMinor: decision.revenueMinor,
        currency: decision.rule.currency,
        ...(decisionWithConversion ? { recordDecision: true } : {}),
      });
    } catch (err) {
      const permanent = windowEnd ? permanentFailure(err) : null;
      if (permanent === null) throw err;
      return ignore(req, permanent, 'ignored');
    }
    if (result.duplicateOf) return ignore(req, `transaction ${req.txid} already counted on conversion ${result.duplicateOf}`, 'duplicate', result.duplicateOf);
    state.counted.push({
      conversionId,
      event: req.event,
      txid: req.txid,
      status: req.status,
      payoutMinor: decision.payoutMinor,
      currency: decision.rule.currency,
      notifications: 1,
    });
    if (status === 'open' && req.status !== 'rejected') markConverted();
    if (!decisionWithConversion) await decided(req, 'recorded', null, conversionId);
    await notify(result.deliveries, req.event);
    if (result.superseded) await tellSuperseded(req, conversionId, result.superseded);
  }

  // The advertiser's postback took over a transaction id a pixel had claimed on another session:
  // that session rejects its copy and tells its publisher. Its stored copy is already rejected, so
  // a session that has closed since needs nothing more.
  async function tellSuperseded(req: ConversionRequest, by: string, superseded: { conversionId: string; sessionId: string }): Promise<void> {
    const notice: ConversionRequest = {
      requestId: uuid4(),
      source: 'api',
      event: req.event,
      txid: req.txid,
      amountMinor: null,
      amountCurrency: null,
      status: 'rejected',
      receivedAtMs: req.receivedAtMs,
      decision: { conversionId: superseded.conversionId, reason: `transaction ${req.txid} taken over by the advertiser's postback (conversion ${by})`, by: 'postback' },
    };
    try {
      await getExternalWorkflowHandle(superseded.sessionId).signal(conversionSignal, notice);
    } catch {
      // closed or never started: nothing to tell
    }
  }

  function markConverted(): void {
    status = 'converted';
    showStatus(status);
  }

  function shownStatus(): string | undefined {
    return workflowInfo().typedSearchAttributes.get(SessionStatus);
  }

  // Each upsert is a command and a Temporal Cloud Action: none when SessionStatus says it already.
  function showStatus(value: SessionView['status']): void {
    if (lean && shownStatus() === value) return;
    upsertSearchAttributes([{ key: SessionStatus, value }]);
  }

  async function ignore(req: ConversionRequest, reason: string, outcome: 'duplicate' | 'ignored', conversionId: string | null = null): Promise<void> {
    state.ignored.push({ requestId: req.requestId, event: req.event, reason, atMs: Date.now() });
    if (state.ignored.length > KEEP_IGNORED) state.ignored.shift();
    await decided(req, outcome, reason, conversionId);
  }

  // The decision is written onto the request's inbound record for `GET /postback/status`. Sessions
  // whose history has conversions handled without this step replay without it.
  async function decided(req: ConversionRequest, outcome: DecisionInput['outcome'], reason: string | null, conversionId: string | null): Promise<void> {
    if (!(lean || patched('postback-decision'))) return;
    await store.recordDecision({ requestId: req.requestId, sessionId: session.sessionId, outcome, reason, conversionId });
  }

  async function notify(deliveries: DeliveryRequest[], event: string): Promise<void> {
    if (!lean) return startDeliveries(deliveries, input.delivery, event);
    // Retried until each delivery's first attempt is made and, where it failed, its workflow
    // started (never given up: a conversion counted but never notified could not be told apart
    // from one whose deliveries ran).
    if (deliveries.length > 0) await notifying(input.delivery).startDeliveryWorkflows({ deliveries, policy: input.delivery, event });
  }
}

// A local activity's failure reaches the workflow as the activity's own failure (an
// ApplicationFailure, a TimeoutFailure), a regular activity's wrapped in an ActivityFailure.
const ownFailure = (err: unknown): unknown => (err instanceof ActivityFailure ? err.cause : err);

/** A step that gave up after its whole (bounded) life: retried in the next run, not failed. */
function isGiveUp(err: unknown): boolean {
  const f = ownFailure(err);
  if (permanentFailure(err) !== null) return false;
  return f instanceof TimeoutFailure || f instanceof ApplicationFailure || err instanceof ActivityFailure;
}

/** The reason of a step that can never succeed (the activity said so), or null. */
function permanentFailure(err: unknown): string | null {
  const f = ownFailure(err);
  return f instanceof ApplicationFailure && f.nonRetryable ? f.message : null;
}
