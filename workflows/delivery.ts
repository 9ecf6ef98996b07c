import { RetryState, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, ParentClosePolicy, patched, proxyActivities, startChild } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeliveryPolicy, DeliveryRequest } from '../src/domain/session';
import { deliveryMetadata } from './summaries';

export interface DeliveryWorkflowInput extends DeliveryRequest {
  policy: DeliveryPolicy;
  /** Attempts made before this workflow started (the session's inline first attempt); absent: none. */
  attemptsMade?: number;
}

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 100 },
});

/**
 * One outbound postback or provider notification, retried with backoff until delivered or given up.
 * Started by a session after its first attempt failed, it makes the remaining attempts, numbered on
 * from there (the start was delayed by the first interval). Histories started without
 * `attemptsMade` replay as they ran: the input decides, so no patch marker is needed.
 */
export async function deliveryWorkflow(input: DeliveryWorkflowInput): Promise<'delivered' | 'given_up'> {
  const { policy, attemptsMade = 0, ...request } = input;
  const { deliver } = proxyActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs + 5_000,
    retry: {
      // The backoff goes on where the attempts made before left it.
      initialInterval: Math.min(policy.initialIntervalMs * 2 ** attemptsMade, policy.maximumIntervalMs),
      backoffCoefficient: 2,
      maximumInterval: policy.maximumIntervalMs,
      maximumAttempts: policy.maximumAttempts - attemptsMade,
      nonRetryableErrorTypes: ['UndeliverableUrl', 'DeliveryRefused'],
    },
  });
  try {
    await deliver({ ...request, timeoutMs: policy.timeoutMs, maximumAttempts: policy.maximumAttempts, attemptOffset: attemptsMade });
    return 'delivered';
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    // The last attempt logs `given_up` itself, unless it timed out, its worker died or the database
    // was away: then this record stands in (it never replaces what the attempt logged).
    if (patched('delivery-records-given-up')) {
      const cause = err.cause;
      const attempt =
        cause instanceof ApplicationFailure && cause.nonRetryable && typeof cause.details?.[0] === 'number'
          ? cause.details[0]
          : err.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED
            ? policy.maximumAttempts
            : null;
      if (attempt !== null) await bookkeeping.recordGivenUp({ ...request, attempt, error: cause?.message ?? err.message });
    }
    return 'given_up';
  }
}

/**
 * Each notification is a child workflow that outlives its parent if it has to: retries go on for
 * hours while the session closes or continues as new. Its id is the delivery id, so a replayed or
 * retried start meets the child already running and starts nothing twice.
 */
export async function startDeliveries(deliveries: DeliveryRequest[], policy: DeliveryPolicy, event: string): Promise<void> {
  for (const d of deliveries) {
    try {
      await startChild(deliveryWorkflow, {
        ...deliveryMetadata(d, event),
        workflowId: d.deliveryId,
        args: [{ ...d, policy }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}
