import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeliveryPolicy, DeliveryRequest } from '../src/domain/session';

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
