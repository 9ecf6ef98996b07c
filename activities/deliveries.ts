import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DeliveryRequest } from '../src/domain/session';
import type { Logger } from '../src/log';
import type { Metrics } from '../src/metrics';
import { UndeliverableUrl, type OutboundClient } from '../src/outbound/outbound-client';
import { redactUrl } from '../src/outbound/redact-url';
import { deliveries } from '../src/persistence/models/delivery';

export interface DeliverInput extends DeliveryRequest {
  timeoutMs: number;
  maximumAttempts: number;
}

export function deliveryActivities(log: Logger, outbound: OutboundClient, metrics?: Metrics) {
  return {
    /** One attempt at an outbound postback; every attempt is saved, whatever its outcome. */
    async deliver(input: DeliverInput): Promise<void> {
      const { attempt } = Context.current().info;
      const started = performance.now();
      let statusCode: number | null = null;
      let error: string | null = null;
      let undeliverable = false;
      try {
        statusCode = await outbound.get(input.url, input.timeoutMs);
      } catch (err) {
        undeliverable = err instanceof UndeliverableUrl;
        error = undeliverable ? (err as Error).message : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
      const delivered = statusCode !== null && statusCode >= 200 && statusCode < 300;
      if (!delivered && !error) error = `HTTP ${statusCode}`;
      const outcome = delivered ? 'delivered' : undeliverable || attempt >= input.maximumAttempts ? 'given_up' : 'failed';
      const latencyMs = Math.round(performance.now() - started);
      metrics?.deliveryAttempts.inc({ target: input.target, outcome });
      const record = () =>
        deliveries().replaceOne(
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
            latencyMs,
            error,
            outcome,
            at: new Date(),
          },
          { upsert: true },
        );
      if (!delivered) {
        await record();
        // Temporal keeps failure messages in history: no query string, where secrets live.
        const message = `${redactUrl(input.url)}: ${error}`;
        if (undeliverable) {
          log.warn({ deliveryId: input.deliveryId, target: input.target, targetId: input.targetId, reason: error }, 'postback not sent');
          throw ApplicationFailure.nonRetryable(message, 'UndeliverableUrl');
        }
        throw ApplicationFailure.retryable(message, 'DeliveryFailed');
      }
      // Delivered: failing now would make Temporal send the postback again. Keep trying to log the
      // attempt, and if the database stays unavailable, say so in the log and still succeed.
      for (let i = 0; ; i++) {
        try {
          await record();
          return;
        } catch (err) {
          if (i >= 4) {
            log.error({ deliveryId: input.deliveryId, attempt, statusCode, err: String(err) }, 'postback delivered but its attempt could not be logged');
            return;
          }
          await new Promise((r) => setTimeout(r, 250 * 2 ** i));
        }
      }
    },
  };
}
