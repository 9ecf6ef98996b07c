import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { DeliveryPolicy, DeliveryRequest } from '../src/domain/session';
import { deliveryMetadata } from '../workflows/summaries';

export interface StartDeliveriesInput {
  deliveries: DeliveryRequest[];
  policy: DeliveryPolicy;
  event: string;
}

/**
 * Delivery workflows started by the session's local activity instead of as its children: no
 * child-workflow commands, no workflow task per ChildWorkflowExecutionStarted, one Temporal Action
 * per delivery instead of two. Standalone workflows outlive the session as the abandoned children
 * did. The id is the delivery id and a closed one is never run again, so a retried activity (or a
 * replayed session) meets the workflow it started and starts nothing twice.
 */
export function deliveryStartActivities(temporal: Client) {
  return {
    async startDeliveryWorkflows(input: StartDeliveriesInput): Promise<void> {
      const { taskQueue } = Context.current().info;
      await Promise.all(
        input.deliveries.map(async (d) => {
          try {
            await temporal.workflow.start('deliveryWorkflow', {
              ...deliveryMetadata(d, input.event),
              workflowId: d.deliveryId,
              taskQueue,
              args: [{ ...d, policy: input.policy }],
              workflowIdReusePolicy: 'REJECT_DUPLICATE',
              // The client shares the worker's connection: its first workflow task comes back with
              // the start's answer when this worker has a free slot, without a trip through matching.
              requestEagerStart: true,
            });
          } catch (err) {
            if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          }
        }),
      );
    },
  };
}
