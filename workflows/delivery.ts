import { RetryState, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, ParentClosePolicy, patched, proxyActivities, startChild } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeliveryPolicy, DeliveryRequest } from '../src/domain/session';
import { deliveryMetadata } from './summaries';

export interface DeliveryWorkflowInput extends DeliveryRequest {
  policy: DeliveryPolicy;
}

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 100 },
});

/** One outbound postback or provider notification, retried with backoff until delivered or given up. */
export async function deliveryWorkflow(input: DeliveryWorkflowInput): Promise<'delivered' | 'given_up'> {
  const { policy, ...request } = input;
  const { deliver } = proxyActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs + 5_000,
    retry: {
      initialInterval: policy.initialIntervalMs,
      backoffCoefficient: 2,
      maximumInterval: policy.maximumIntervalMs,
      maximumAttempts: policy.maximumAttempts,
      nonRetryableErrorTypes: ['UndeliverableUrl', 'DeliveryRefused'],
    },
  });
  try {
    await deliver({ ...request, timeoutMs: policy.timeoutMs, maximumAttempts: policy.maximumAttempts });
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
