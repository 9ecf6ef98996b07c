import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeliveryPolicy, DeliveryRequest } from '../src/domain/session';

export interface DeliveryWorkflowInput extends DeliveryRequest {
  policy: DeliveryPolicy;
}

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
      nonRetryableErrorTypes: ['UndeliverableUrl'],
    },
  });
  try {
    await deliver({ ...request, timeoutMs: policy.timeoutMs, maximumAttempts: policy.maximumAttempts });
    return 'delivered';
  } catch (err) {
    // Every attempt, the last included, is already logged as a delivery document.
    if (err instanceof ActivityFailure) return 'given_up';
    throw err;
  }
}
