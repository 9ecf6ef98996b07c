import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ConversionStatus, StatusDecision } from '../src/domain/attribution-rules';
import type { DeliveryPolicy, SessionSnapshot } from '../src/domain/session';
import { startDeliveries } from './delivery';

export interface ConversionDecisionInput {
  session: SessionSnapshot;
  requestId: string;
  status: ConversionStatus;
  decision: StatusDecision;
  delivery: DeliveryPolicy;
}

const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  localRetryThreshold: '10 seconds',
});

/**
 * An API decision on a conversion whose session workflow has already closed (its window ended):
 * the session cannot take a signal any more, so this short workflow applies the decision and
 * notifies like the session would have, with the same durable, retried deliveries.
 */
export async function conversionDecisionWorkflow(input: ConversionDecisionInput): Promise<{ notifications: number }> {
  const planned = await local.applyClosedSessionDecision({
    session: input.session,
    requestId: input.requestId,
    status: input.status,
    decision: input.decision,
  });
  await startDeliveries(planned, input.delivery, `decision: ${input.status}`);
  return { notifications: planned.length };
}
