import { condition, proxyLocalActivities, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { SessionStatus, conversionSignal } from '../../workflows/definitions';

// Baseline (d), the engine's ceiling: one session's Temporal operations and nothing else. The
// start (with the session's search attributes) and the conversion signal come from the driver;
// here, the window's one timer, the status change to `converted` (one search-attribute upsert),
// the delivery as one local activity (as the session's notifying step delivers a postback that
// succeeds at once), and completion when the window closes. No database: what is left is the
// Temporal server's and the worker's cost per session.

export interface CeilingSessionInput {
  windowMs: number;
}

const { deliver } = proxyLocalActivities<{ deliver(sessionId: string): Promise<void> }>({
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
    await deliver(workflowInfo().workflowId);
  }
  return conversions;
}
