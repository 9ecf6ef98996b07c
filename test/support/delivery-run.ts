import { deliveryWorkflow } from '../../workflows/delivery';
import { testId, type TestApp } from './harness';
import type { HttpSink } from './http-sink';

// Delivery workflows started on their own, to a sink path that decides the answers; the sink
// sees the delivery id in each request's `d`.

export const DELIVERY_TIMEOUT_MS = 1_000;

/** The app's delivery settings for these tests: three quick attempts. */
export const QUICK_DELIVERIES = { DELIVERY_TIMEOUT_MS: String(DELIVERY_TIMEOUT_MS), DELIVERY_MAX_ATTEMPTS: '3', DELIVERY_RETRY_INITIAL_MS: '100', DELIVERY_RETRY_MAX_MS: '200' };

export function startDelivery(app: TestApp, sink: HttpSink, path: string, maximumAttempts = 3) {
  const deliveryId = testId('dlv');
  return app.temporal.client.workflow.start(deliveryWorkflow, {
    workflowId: deliveryId,
    taskQueue: app.config.TEMPORAL_TASK_QUEUE,
    args: [
      {
        deliveryId, conversionId: testId('conv'), sessionId: testId('sess'), target: 'publisher', targetId: 'pub-x', url: `${sink.url}${path}?d=${deliveryId}`,
        policy: { initialIntervalMs: 100, maximumIntervalMs: 200, maximumAttempts, timeoutMs: DELIVERY_TIMEOUT_MS },
      },
    ],
  });
}

/** What the sink received for one delivery. */
export const sentFor = (sink: HttpSink, deliveryId: string) => sink.requests.filter((r) => r.query.d === deliveryId);
