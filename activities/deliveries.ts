import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DeliveryRequest } from '../src/domain/session';
import { deliveries } from '../src/persistence/models/delivery';

export interface DeliverInput extends DeliveryRequest {
  timeoutMs: number;
  maximumAttempts: number;
}

export function deliveryActivities(fetchImpl: typeof fetch = fetch) {
  return {
    /** One attempt at an outbound postback; every attempt is saved, whatever its outcome. */
    async deliver(input: DeliverInput): Promise<void> {
      const { attempt } = Context.current().info;
      const started = performance.now();
      let statusCode: number | null = null;
      let error: string | null = null;
      try {
        const res = await fetchImpl(input.url, { signal: AbortSignal.timeout(input.timeoutMs) });
        statusCode = res.status;
        await res.body?.cancel();
      } catch (err) {
        error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
      const delivered = statusCode !== null && statusCode >= 200 && statusCode < 300;
      if (!delivered && !error) error = `HTTP ${statusCode}`;
      const outcome = delivered ? 'delivered' : attempt >= input.maximumAttempts ? 'given_up' : 'failed';
      await deliveries().replaceOne(
        { _id: `${input.deliveryId}#${attempt}` },
        {
          deliveryId: input.deliveryId,
          conversionId: input.conversionId,
          sessionId: input.sessionId,
          target: input.target,
          targetId: input.targetId,
          url: input.url,
          attempt,
          statusCode,
          latencyMs: Math.round(performance.now() - started),
          error,
          outcome,
          at: new Date(),
        },
        { upsert: true },
      );
      if (!delivered) throw ApplicationFailure.retryable(`${input.url}: ${error}`, 'DeliveryFailed');
    },
  };
}
