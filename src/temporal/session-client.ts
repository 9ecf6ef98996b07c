import { Client, QueryRejectedError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { ConversionRequest } from '../domain/attribution-rules';
import type { DeliveryPolicy, DeliveryRequest, SessionSnapshot } from '../domain/session';
import { conversionDecisionWorkflow } from '../../workflows/conversion-decision';
import type { Metrics } from '../metrics';
import type { TemporalAuth } from './connection-options';
import { AdvertiserId, CampaignId, Country, DeviceType, PublisherId, SessionStatus, conversionSignal, sessionQuery } from '../../workflows/definitions';
import { sessionWorkflow, type SessionView } from '../../workflows/session';
import { deliveryWorkflow } from '../../workflows/delivery';
import { deliveryMetadata, sessionMetadata } from '../../workflows/summaries';
import { describeIfExists } from './workflow-exists';
import { closableConnection } from './closable-connection';

export type SignalOutcome = 'signalled' | 'closed';

/**
 * Each call gets this long. Without a deadline the client retries an unreachable server for about
 * 20 s, and an API request (or a hand-over batch) would hang that long. A call that timed out but
 * did reach Temporal is harmless: starts are idempotent and a re-signalled request id is dropped by
 * the workflow.
 */
const CALL_DEADLINE_MS = 3_000;

/** How a session's workflow start went. */
export interface StartResult {
  /** The session's workflow has already run to its end: nothing was started. */
  closed: boolean;
  /** Its first workflow task came back with the start, for this process's worker (eager start). */
  eager: boolean;
}

/**
 * clicktrail's view of Temporal: start sessions, signal conversions, decisions, queries, re-sends.
 * The API builds one on a lazy connection; the hand-over one on its worker's NativeConnection.
 */
export class SessionClient {
  constructor(
    readonly client: Client,
    private readonly taskQueue: string,
    private readonly delivery: DeliveryPolicy,
    private readonly opts: { maxConversionsPerRun?: number; closeGraceMs?: number; stepLifeMs?: number; callDeadlineMs?: number; metrics?: Metrics; close?: () => Promise<void> } = {},
  ) {}

  /**
   * Connects on first use and reconnects by itself, so the API starts and keeps answering while
   * Temporal is down (its tracking paths make no Temporal call anyway, but for one fallback).
   */
  static lazy(opts: { address: string; namespace: string; taskQueue: string; delivery: DeliveryPolicy; maxConversionsPerRun?: number; closeGraceMs?: number; stepLifeMs?: number; auth?: TemporalAuth; metrics?: Metrics }) {
    const { connection, close } = closableConnection({ address: opts.address, connectTimeout: 2_000, ...opts.auth });
    // A closed workflow answers no query: Temporal would replay its whole history on a worker for it.
    const client = new Client({ connection, namespace: opts.namespace, workflow: { queryRejectCondition: 'NOT_OPEN' } });
    return new SessionClient(client, opts.taskQueue, opts.delivery, {
      maxConversionsPerRun: opts.maxConversionsPerRun,
      closeGraceMs: opts.closeGraceMs,
      stepLifeMs: opts.stepLifeMs,
      metrics: opts.metrics,
      close,
    });
  }

  /** Workflow tasks waiting in the session task queue for a worker (Temporal's approximate count), or null when the server gives no stats. */
  async workflowTaskBacklog(): Promise<number | null> {
    const { stats } = await this.withDeadline('task_queue_backlog', () =>
      this.client.workflowService.describeTaskQueue({
        namespace: this.client.options.namespace,
        // TASK_QUEUE_KIND_NORMAL, TASK_QUEUE_TYPE_WORKFLOW (the enums live in @temporalio/proto, not a dependency of ours).
        taskQueue: { name: this.taskQueue, kind: 1 },
        taskQueueType: 1,
        reportStats: true,
      }),
    );
    return stats?.approximateBacklogCount == null ? null : Number(stats.approximateBacklogCount);
  }

  /**
   * `sessionStored`: the session is in MongoDB already (the hand-over), so the workflow skips its
   * first database write; false when only the workflow can store it (MongoDB down at the click).
   */
  startOptions(session: SessionSnapshot, sessionStored: boolean, landingUrl?: string) {
    return {
      // What the Temporal UI shows for the session besides its id.
      ...sessionMetadata(session, landingUrl),
      workflowId: session.sessionId,
      taskQueue: this.taskQueue,
      args: [{ session, sessionStored, decisionWithConversion: true, delivery: this.delivery, maxConversionsPerRun: this.opts.maxConversionsPerRun, closeGraceMs: this.opts.closeGraceMs, stepLifeMs: this.opts.stepLifeMs }] as [Parameters<typeof sessionWorkflow>[0]],
      // Starting twice (a hand-over taken over after its lease expired) is harmless; a closed session stays closed.
      workflowIdConflictPolicy: 'USE_EXISTING' as const,
      workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
      typedSearchAttributes: new TypedSearchAttributes([
        { key: CampaignId, value: session.campaignId },
        { key: AdvertiserId, value: session.advertiserId },
        { key: PublisherId, value: session.publisherId },
        { key: SessionStatus, value: 'open' },
        { key: Country, value: session.country ?? 'unknown' },
        { key: DeviceType, value: session.device.type },
      ]),
    };
  }

  /**
   * Starts the session's workflow. `eager` asks for its first workflow task in the start's answer,
   * which needs this client to share its NativeConnection with a worker of the task queue.
   */
  async startSession(session: SessionSnapshot, o: { sessionStored: boolean; landingUrl?: string; eager?: boolean }): Promise<StartResult> {
    try {
      const handle = await this.withDeadline('start_session', () =>
        this.client.workflow.start(sessionWorkflow, { ...this.startOptions(session, o.sessionStored, o.landingUrl), requestEagerStart: o.eager }),
      );
      return { closed: false, eager: handle.eagerlyStarted };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { closed: true, eager: false };
      throw err;
    }
  }

  /** Delivers a conversion, starting the session's workflow first if it never started (a lazy session, or one not handed over yet). */
  async signalConversion(session: SessionSnapshot, request: ConversionRequest, o: { landingUrl?: string } = {}): Promise<SignalOutcome> {
    try {
      await this.withDeadline('signal_conversion', () =>
        this.client.workflow.signalWithStart(sessionWorkflow, {
          ...this.startOptions(session, true, o.landingUrl),
          workflowIdConflictPolicy: undefined,
          signal: conversionSignal,
          signalArgs: [request],
        }),
      );
      return 'signalled';
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'closed';
      throw err;
    }
  }

  /**
   * An API decision (approve, reject) on one conversion: a signal to its session while that is
   * open, else a short workflow of its own that applies it and notifies (the session has closed).
   */
  async decideConversion(session: SessionSnapshot, request: ConversionRequest & { decision: NonNullable<ConversionRequest['decision']> }): Promise<'session' | 'closed-session'> {
    if ((await this.signalConversion(session, request)) === 'signalled') return 'session';
    await this.withDeadline('start_decision', () =>
      this.client.workflow.start(conversionDecisionWorkflow, {
        workflowId: `decision-${request.requestId}`,
        taskQueue: this.taskQueue,
        args: [{ session, requestId: request.requestId, status: request.status, decision: request.decision, delivery: this.delivery }],
      }),
    );
    return 'closed-session';
  }

  /**
   * The live state of a running session, or null once it has closed or never existed. Within the
   * call deadline: a query waits for a worker, and an API request must not hang on one.
   */
  async querySession(sessionId: string): Promise<SessionView | null> {
    try {
      return await this.withDeadline('query_session', () => this.client.workflow.getHandle(sessionId).query(sessionQuery));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || err instanceof QueryRejectedError) return null;
      throw err;
    }
  }

  /** Whether Temporal answers at all: tells "Temporal is away" from "it refuses these items". */
  async reachable(): Promise<boolean> {
    try {
      await this.withDeadline('reachable', () => this.client.workflowService.getSystemInfo({}));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A new delivery workflow for a delivery the API re-sends, with the configured retry policy;
   * false when a workflow with that id has run already.
   */
  async resendDelivery(request: DeliveryRequest): Promise<boolean> {
    try {
      await this.withDeadline('resend_delivery', () =>
        this.client.workflow.start(deliveryWorkflow, {
          ...deliveryMetadata(request, null),
          workflowId: request.deliveryId,
          taskQueue: this.taskQueue,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          args: [{ ...request, policy: this.delivery }],
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
  }

  /** Whether a delivery's workflow is still retrying, has closed, or never ran. */
  async deliveryState(deliveryId: string): Promise<'running' | 'closed' | 'none'> {
    const d = await this.withDeadline('describe_delivery', () => describeIfExists(this.client, deliveryId));
    if (!d) return 'none';
    return d.status.name === 'RUNNING' ? 'running' : 'closed';
  }

  /** Readiness: the frontend answers within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<void> {
    await this.client.connection.withDeadline(Date.now() + timeoutMs, () => this.client.workflowService.getSystemInfo({}));
  }

  private async withDeadline<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await this.client.withDeadline(Date.now() + (this.opts.callDeadlineMs ?? CALL_DEADLINE_MS), call);
    } catch (err) {
      this.failed(operation, err);
      throw err;
    }
  }

  /** Counts a failed call; Temporal's expected answers (already started, not found) are no failures. */
  private failed(operation: string, err: unknown): void {
    if (err instanceof WorkflowExecutionAlreadyStartedError || err instanceof WorkflowNotFoundError || err instanceof QueryRejectedError) return;
    this.opts.metrics?.dependencyErrors.inc({ dependency: 'temporal', operation });
  }

  async close(): Promise<void> {
    await (this.opts.close ?? (() => this.client.connection.close()))();
  }
}
