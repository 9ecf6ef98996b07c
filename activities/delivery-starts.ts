import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { DeliveryPolicy, DeliveryRequest } from '../src/domain/session';
import type { Logger } from '../src/log';
import type { FirstAttemptGate } from '../src/outbound/first-attempt-gate';
import { deliveries } from '../src/persistence/models/delivery';
import { describeIfExists } from '../src/temporal/workflow-exists';
import { deliveryMetadata } from '../workflows/summaries';
import type { deliveryAttempts } from './deliveries';

export interface StartDeliveriesInput {
  deliveries: DeliveryRequest[];
  policy: DeliveryPolicy;
  event: string;
}

/**
 * The first attempt at each delivery is made here, in the session's local activity: most postbacks
 * are delivered at once, and those then cost no workflow, no activity task and no Temporal Action
 * of their own. A delivery whose first attempt failed and may be retried gets a workflow, which
 * goes on from attempt 2 after the policy's first interval (a start delay: no timer in its history).
 * A delivery the gate keeps from this step (its endpoint is failing, slow or busy) gets its
 * workflow at once and makes every attempt there. Standalone workflows outlive the session. The
 * activity keeps its name, so histories recorded when it only started workflows replay.
 */
export function deliveryStartActivities(temporal: Client, log: Logger, attempts: ReturnType<typeof deliveryAttempts>, gate: FirstAttemptGate) {
  return {
    async startDeliveryWorkflows(input: StartDeliveriesInput): Promise<void> {
      const { taskQueue, attempt: run } = Context.current().info;
      const { policy, event } = input;
      const startWorkflow = async (d: DeliveryRequest, attemptsMade: 0 | 1): Promise<void> => {
        try {
          await temporal.workflow.start('deliveryWorkflow', {
            ...deliveryMetadata(d, event),
            workflowId: d.deliveryId,
            taskQueue,
            args: [{ ...d, policy, ...(attemptsMade ? { attemptsMade } : {}) }],
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            // Retries wait the first interval; a delivery left whole to its workflow starts at once,
            // its first task handed back with the start's answer (the client shares the worker's connection).
            ...(attemptsMade ? { startDelay: policy.initialIntervalMs } : { requestEagerStart: true }),
          });
        } catch (err) {
          // The id is the delivery id and a closed one never runs again: a retried activity, or a
          // replayed session, meets the workflow it started and starts nothing twice.
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        }
      };
      // Every delivery finishes its attempt, recorded, before a failure of one fails the step: the
      // step's next run must find all that this one sent.
      const settled = await Promise.allSettled(
        input.deliveries.map(async (d) => {
          // This activity runs again after a worker dies or a step fails: an attempt already on
          // record is not sent again, it only gets the retries it is owed; nor is a delivery an
          // earlier run left to its workflow.
          const earlier = await deliveries().findOne({ _id: `${d.deliveryId}#1` }, { projection: { outcome: 1 } });
          if (earlier) {
            if (earlier.outcome === 'failed') await startWorkflow(d, 1);
            return;
          }
          if (run > 1 && (await describeIfExists(temporal, d.deliveryId))) return;
          const release = gate.tryAcquire(d.url);
          if (!release) return startWorkflow(d, 0);
          const started = performance.now();
          let result: Awaited<ReturnType<typeof attempts.send>> | undefined;
          try {
            result = await attempts.send({ ...d, timeoutMs: policy.timeoutMs, maximumAttempts: policy.maximumAttempts }, 1);
          } finally {
            release({ ok: result !== undefined && (result.failure === null || result.failure.nonRetryable === true), latencyMs: performance.now() - started, coolDownMs: policy.initialIntervalMs });
          }
          // Retries scheduled before the failure is on record: the API re-sends a failed delivery
          // only when no workflow is retrying it, so it must never see the one without the other.
          if (result.outcome === 'failed') {
            // The line Temporal's SDK writes for each later attempt that fails, written here for the first.
            log.warn({ deliveryId: d.deliveryId, attempt: 1, target: d.target, targetId: d.targetId, err: result.failure?.message }, 'delivery attempt failed, retries scheduled');
            await startWorkflow(d, 1);
          }
          await attempts.record(d, 1, result);
        }),
      );
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
