import { ParentClosePolicy, condition, proxyActivities, setHandler, sleep, startChild, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { SessionStatus, conversionSignal } from '../../workflows/definitions';

// Baseline (d), the engine's ceiling: one session's Temporal operations and nothing else. The
// start (with the session's search attributes) and the conversion signal come from the driver;
// here, the window's one timer, the status change to `converted` (one search-attribute upsert),
// one delivery as an abandoned child workflow running one activity (as workflows/delivery.ts
// does), and completion when the window closes. No database, no local activity: what is left is
// the Temporal server's and the worker's cost per session.

export interface CeilingSessionInput {
  windowMs: number;
}

const { deliver } = proxyActivities<{ deliver(sessionId: string): Promise<void> }>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 20 },
});

export async function ceilingSession(input: CeilingSessionInput): Promise<number> {
  const queue: unknown[] = [];
  setHandler(conversionSignal, (req) => void queue.push(req));
  let closed = false;
  void sleep(input.windowMs).then(() => (closed = true));
  let conversions = 0;
  for (;;) {
    await condition(() => queue.length > 0 || closed);
    if (queue.length === 0) break;
    queue.shift();
    conversions++;
    if (conversions === 1) upsertSearchAttributes([{ key: SessionStatus, value: 'converted' }]);
    const { workflowId, taskQueue } = workflowInfo();
    await startChild(ceilingDelivery, {
      workflowId: `${workflowId}-delivery-${conversions}`,
      taskQueue,
      args: [workflowId],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  }
  return conversions;
}

export async function ceilingDelivery(sessionId: string): Promise<void> {
  await deliver(sessionId);
}
