import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DeliveryRequest } from '../src/domain/session';
import type { Logger } from '../src/log';
import type { Metrics } from '../src/metrics';
import { UndeliverableUrl, type OutboundClient } from '../src/outbound/outbound-client';
import { redactUrl } from '../src/outbound/redact-url';
import { deliveries, type DeliveryAttemptRecord } from '../src/persistence/models/delivery';
import { withinBudget } from '../src/persistence/operation-budget';

export interface DeliverInput extends DeliveryRequest {
  timeoutMs: number;
  maximumAttempts: number;
  /** Attempts made before this activity's first (the session's inline attempt): absent means none. */
  attemptOffset?: number;
}

/**
 * How long an attempt may spend logging itself after the request, well inside the activity's
 * startToCloseTimeout (request timeout + 5 s): an attempt that outlived it would be retried by
 * Temporal, and a delivered postback sent again. A database that is slow rather than down (writes
 * waiting on the driver) must not get there.
 */
export const ATTEMPT_LOG_BUDGET_MS = 3_000;

/** Answers that retrying will not change: the publisher refuses the request itself. 408 and 429 say "later". */
export function isPermanentRefusal(statusCode: number | null): boolean {
  return statusCode !== null && statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 429;
}

export interface AttemptResult {
  outcome: DeliveryAttemptRecord['outcome'];
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** What a failed attempt tells Temporal: retryable, or not (the URL or the publisher refuses it). */
  failure: ApplicationFailure | null;
}

/**
 * One attempt at an outbound postback, in two steps: `send` makes the request and judges the answer,
 * `record` saves the attempt whatever its outcome. The `deliver` activity does both; the session's
 * inline first attempt starts the retrying workflow between them, so an attempt recorded as failed
 * always has its retries already scheduled.
 */
export function deliveryAttempts(log: Logger, outbound: OutboundClient, metrics?: Metrics) {
  return {
    async send(input: DeliverInput, attempt: number): Promise<AttemptResult> {
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
      const refused = isPermanentRefusal(statusCode);
      if (!delivered && !error) error = refused ? `HTTP ${statusCode} (not retried: the endpoint refuses the request)` : `HTTP ${statusCode}`;
      const outcome = delivered ? 'delivered' : undeliverable || refused || attempt >= input.maximumAttempts ? 'given_up' : 'failed';
      const latencyMs = Math.round(performance.now() - started);
      metrics?.deliveryAttempts.inc({ target: input.target, outcome });
      if (delivered) return { outcome, statusCode, latencyMs, error, failure: null };
      // Temporal keeps failure messages in history: no query string, where secrets live.
      const message = `${redactUrl(input.url)}: ${error}`;
      if (undeliverable || refused) {
        log.warn({ deliveryId: input.deliveryId, target: input.target, targetId: input.targetId, reason: error }, 'postback not sent');
        const type = undeliverable ? 'UndeliverableUrl' : 'DeliveryRefused';
        return { outcome, statusCode, latencyMs, error, failure: ApplicationFailure.create({ message, type, nonRetryable: true, details: [attempt] }) };
      }
      return { outcome, statusCode, latencyMs, error, failure: ApplicationFailure.retryable(message, 'DeliveryFailed') };
    },

    async record(input: DeliveryRequest, attempt: number, result: AttemptResult): Promise<void> {
      const { statusCode, latencyMs, error, outcome } = result;
      // Keyed by delivery and attempt: a retried write, or one that lands late, replaces itself.
      const logged = await writeWithin(ATTEMPT_LOG_BUDGET_MS, () =>
        deliveries().replaceOne({ _id: `${input.deliveryId}#${attempt}` }, attemptRecord(input, attempt, { statusCode, latencyMs, error, outcome }), {
          upsert: true,
        }),
      );
      if (!logged.ok) {
        log.error({ deliveryId: input.deliveryId, attempt, statusCode, outcome, err: logged.error }, 'delivery attempt could not be logged');
      }
    },
  };
}

export function deliveryActivities(log: Logger, outbound: OutboundClient, metrics?: Metrics) {
  const attempts = deliveryAttempts(log, outbound, metrics);
  return {
    /** One attempt at an outbound postback; every attempt is saved, whatever its outcome. */
    async deliver(input: DeliverInput): Promise<void> {
      // Attempts the session made itself before it started this delivery's workflow come first.
      const attempt = Context.current().info.attempt + (input.attemptOffset ?? 0);
      // A retry whose earlier attempt was delivered and logged, but whose completion never reached
      // Temporal (its worker was killed in between): sending again would pay the publisher twice.
      // When the database cannot tell, the retry waits for it rather than risk that.
      if (attempt > 1) {
        const earlier = await withinBudget(
          deliveries().findOne({ deliveryId: input.deliveryId, outcome: 'delivered' }, { projection: { _id: 1 } }),
          'checking earlier attempts of this delivery',
        ).catch((err: Error) => {
          throw ApplicationFailure.retryable(err.message, 'DeliveryFailed');
        });
        if (earlier) return;
      }
      const result = await attempts.send(input, attempt);
      await attempts.record(input, attempt, result);
      if (result.failure) throw result.failure;
    },

    /**
     * The delivery workflow's own record that it gave up, for when the last attempt could not log
     * itself (it timed out, its worker died, the database was away). Never replaces what an attempt
     * logged.
     */
    async recordGivenUp(input: DeliveryRequest & { attempt: number; error: string }): Promise<void> {
      await deliveries().updateOne(
        { _id: `${input.deliveryId}#${input.attempt}` },
        { $setOnInsert: attemptRecord(input, input.attempt, { statusCode: null, latencyMs: 0, error: input.error, outcome: 'given_up' }) },
        { upsert: true },
      );
    },
  };
}

function attemptRecord(
  input: DeliveryRequest,
  attempt: number,
  result: Pick<DeliveryAttemptRecord, 'statusCode' | 'latencyMs' | 'error' | 'outcome'>,
): Omit<DeliveryAttemptRecord, '_id'> {
  return {
    deliveryId: input.deliveryId,
    conversionId: input.conversionId,
    sessionId: input.sessionId,
    target: input.target,
    targetId: input.targetId,
    url: input.url,
    attempt,
    ...result,
    at: new Date(),
  };
}

/**
 * Retries an idempotent write until it succeeds or the budget is spent, each try cut off at what is
 * left of the budget. A write cut off may still land later; being idempotent, that is harmless.
 */
async function writeWithin(budgetMs: number, write: () => Promise<unknown>): Promise<{ ok: true } | { ok: false; error: string }> {
  const deadline = Date.now() + budgetMs;
  let error = '';
  for (let i = 0; ; i++) {
    const left = deadline - Date.now();
    if (left <= 0) return { ok: false, error };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        write(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`database write took longer than ${left} ms`)), left);
        }),
      ]);
      return { ok: true };
    } catch (err) {
      error = String(err);
    } finally {
      clearTimeout(timer);
    }
    await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** i, Math.max(0, deadline - Date.now()))));
  }
}
