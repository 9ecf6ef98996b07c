import {
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
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
import { deliveryWorkflow } from './delivery';
import { deliveryMetadata } from './summaries';

export interface SessionWorkflowInput {
  session: SessionSnapshot;
  delivery: DeliveryPolicy;
  /** Conversions handled per run before continuing as new, to keep history bounded. */
  maxConversionsPerRun?: number;
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
}

export interface SessionView {
  sessionId: string;
  campaignId: string;
  publisherId: string;
  status: 'open' | 'converted' | 'expired';
  expiresAt: string;
  conversions: CountedConversion[];
  ignored: IgnoredSignal[];
  queued: number;
  run: number;
}

const KEEP_REQUEST_IDS = 1000;
const KEEP_IGNORED = 50;

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
    conversions: state.counted,
    ignored: state.ignored,
    queued: state.queue.length,
    run: state.runs,
  }));

  // Sessions started before the local activities replay with the activities they recorded.
  const store = patched('session-local-activities') ? local : db;
  if (!input.carried) await store.persistSession(session);

  let handledThisRun = 0;
  for (;;) {
    if (state.queue.length === 0) {
      const remaining = session.expiresAtMs - Date.now();
      if (remaining <= 0 || !(await condition(() => state.queue.length > 0, remaining))) break;
    }
    const req = state.queue.shift()!;
    await handle(req);
    handledThisRun++;
    if (handledThisRun >= maxPerRun || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof sessionWorkflow>({ ...input, carried: { ...state, runs: state.runs + 1 } });
    }
  }

  status = finalStatus(state.counted);
  upsertSearchAttributes([{ key: SessionStatus, value: status }]);
  await store.closeSession(session.sessionId, status);
  return { status, conversions: state.counted.length };

  async function handle(req: ConversionRequest): Promise<void> {
    const rules = await store.loadEventRules(session.campaignId);
    const decision = decide(state.counted, req, rules, session.expiresAtMs, {
      pixelMayUpdate: req.source === 'pixel' && !patched('pixel-never-changes-status'),
    });
    if (decision.kind === 'ignore') return ignore(req, decision.reason, decision.duplicate ? 'duplicate' : 'ignored');

    if (decision.kind === 'update') {
      const conv = state.counted.find((c) => c.conversionId === decision.conversionId)!;
      conv.status = decision.status;
      conv.notifications++;
      const deliveries = await store.updateConversionStatus({
        session,
        conversionId: conv.conversionId,
        status: decision.status,
        notification: conv.notifications,
        ...(req.decision ? { reason: req.decision.reason, decidedBy: req.decision.by } : {}),
      });
      await decided(req, 'updated', null, conv.conversionId);
      return notify(deliveries, req.event);
    }

    const conversionId = uuid4();
    const result = await store.recordConversion({
      session,
      conversionId,
      request: req,
      payoutMinor: decision.payoutMinor,
      revenueMinor: decision.revenueMinor,
      currency: decision.rule.currency,
    });
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
    if (status === 'open' && req.status !== 'rejected') {
      status = 'converted';
      upsertSearchAttributes([{ key: SessionStatus, value: status }]);
    }
    await decided(req, 'recorded', null, conversionId);
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

  async function ignore(req: ConversionRequest, reason: string, outcome: 'duplicate' | 'ignored', conversionId: string | null = null): Promise<void> {
    state.ignored.push({ requestId: req.requestId, event: req.event, reason, atMs: Date.now() });
    if (state.ignored.length > KEEP_IGNORED) state.ignored.shift();
    await decided(req, outcome, reason, conversionId);
  }

  // The decision is written onto the request's inbound record for `GET /postback/status`. Sessions
  // whose history has conversions handled without this step replay without it.
  async function decided(req: ConversionRequest, outcome: DecisionInput['outcome'], reason: string | null, conversionId: string | null): Promise<void> {
    if (!patched('postback-decision')) return;
    await store.recordDecision({ requestId: req.requestId, sessionId: session.sessionId, outcome, reason, conversionId });
  }

  // Each notification is a child workflow that outlives the session if it has to: retries go on
  // for hours while the session closes or continues as new.
  // Their UI summary is a start option: no new command, histories replay unchanged.
  async function notify(deliveries: DeliveryRequest[], event: string): Promise<void> {
    for (const d of deliveries) {
      try {
        await startChild(deliveryWorkflow, {
          ...deliveryMetadata(d, event),
          workflowId: d.deliveryId,
          args: [{ ...d, policy: input.delivery }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
  }
}
