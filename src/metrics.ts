import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { inbounds } from './persistence/models/inbound';
import { sessions } from './persistence/models/session';
import { readConversionState, waitingConversions } from './handover/conversion-log';
import { readState, waitingFilter } from './handover/session-ranges';

// What operators watch (names documented in the README, "Operations"). One registry per app, not
// prom-client's global one: tests and the bench run several apps in one process.

export type ClickOutcome = 'redirected' | 'bot' | 'duplicate' | 'fallback' | 'not_found' | 'bad_request' | 'error';
export type IntakeOutcome = 'accepted' | 'duplicate' | 'rejected' | 'error';
export type HandoverKind = 'session' | 'conversion';
/** started/signalled: handed to Temporal; late: its session had closed; given_up: refused too often; failed: refused this time. */
export type HandoverOutcome = 'started' | 'signalled' | 'late' | 'given_up' | 'failed';
export type Dependency = 'mongodb' | 'temporal';

/** How long the waiting counts may be reused: a scrape every few seconds costs at most one count each. */
const WAITING_CACHE_MS = 5_000;
/** A count that takes longer than this is not worth blocking a scrape; the last value stays. */
const WAITING_COUNT_BUDGET_MS = 1_000;

export class Metrics {
  readonly registry = new Registry();

  readonly clicks = this.counter('clicktrail_clicks_total', 'Answered clicks on /c/{campaignId} by outcome (redirected, bot, duplicate: redirected and stored; fallback, not_found, bad_request: refused; error: 500)', ['outcome']);

  readonly clickStoreFallbacks = this.counter('clicktrail_click_store_fallbacks_total', 'Clicks MongoDB did not take: handed to Temporal in the workflow start (to=temporal) or only logged at fatal level (to=log)', ['to']);

  readonly conversions = this.counter('clicktrail_conversions_total', 'Pixel and postback requests by source, outcome (accepted: stored for the hand-over, duplicate, rejected, error) and the status code of the outcome', ['source', 'outcome', 'code']);

  readonly httpDuration = this.histogram('clicktrail_http_request_duration_seconds', 'Time to answer, by endpoint (click, pixel, postback, api, other) and status code', ['endpoint', 'code'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

  readonly deliveryAttempts = this.counter('clicktrail_delivery_attempts_total', 'Outbound postback and provider notification attempts by target and outcome (delivered, failed: retried, given_up)', ['target', 'outcome']);

  readonly dependencyErrors = this.counter('clicktrail_dependency_errors_total', 'Failed calls to MongoDB or Temporal by operation (expected answers such as "already started" are not errors)', ['dependency', 'operation']);

  readonly handoverItems = this.counter('clicktrail_handover_items_total', 'Items the hand-over took to Temporal, by kind (session, conversion) and outcome (started, signalled, late: session closed, given_up: refused too often, failed: refused this time, retried)', ['kind', 'outcome']);

  readonly handoverEagerStarts = this.counter('clicktrail_handover_eager_starts_total', 'Session starts whose first workflow task came back with the start (eager workflow start) for this worker');

  readonly handoverLag = this.histogram('clicktrail_handover_lag_seconds', 'Age of an item (since its click or its conversion request) when the hand-over gave it to Temporal, by kind', ['kind'], [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800]);

  readonly handoverInFlight = this.gauge('clicktrail_handover_in_flight', 'Temporal calls the hand-over has in flight now');

  readonly handoverLimit = this.gauge('clicktrail_handover_concurrency_limit', 'Calls the hand-over allows itself in flight now: HANDOVER_CONCURRENCY, lowered while Temporal pushes back');

  readonly handoverEngineBacklog = this.gauge('clicktrail_handover_engine_backlog', "Workflow tasks waiting in the session task queue at the hand-over's last look (Temporal's approximate count; -1: unknown). Above HANDOVER_MAX_ENGINE_BACKLOG no session is started");
  readonly handoverYielding = this.gauge('clicktrail_handover_yielding', '1 while an API host says its hot paths are pressed and the hand-over works at a walk (HOT_PATH_YIELD_MS), else 0');

  readonly hotPathPressed = this.gauge('clicktrail_hot_path_pressed', '1 while this process\'s click, pixel and postback requests are pressed (busy and slow: HOT_PATH_YIELD_MS) and it asks the hand-over to yield, else 0');

  readonly handoverPauses = this.counter('clicktrail_handover_pauses_total', 'Times the hand-over paused, by reason (unreachable: Temporal did not answer; overloaded: it answered resource exhausted or too slowly)', ['reason']);

  // Field initializers run in order: the registry above is there when these are called.
  private counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
    return new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge(name: string, help: string) {
    return new Gauge({ name, help, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) {
    return new Histogram<L>({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  constructor(opts: { waiting: boolean }) {
    collectDefaultMetrics({ register: this.registry });
    if (!opts.waiting) return;
    // Processes that run the hand-over (workers) count its backlog.
    const waiting = (name: string, help: string, count: () => Promise<number>) => {
      let value = 0;
      let at = 0;
      const errors = this.dependencyErrors;
      return new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          if (Date.now() - at >= WAITING_CACHE_MS) {
            try {
              value = await count();
              at = Date.now();
            } catch {
              errors.inc({ dependency: 'mongodb', operation: 'count_waiting' });
            }
          }
          this.set(value);
        },
      });
    };
    // Both counts walk what the hand-over reads: the ids after its cursor, on the primary key;
    // a count past its budget keeps the gauge's last value and moves the error counter; no scrape waits.
    waiting('clicktrail_sessions_awaiting_workflow', 'Stored sessions past the hand-over\'s cursor, whose workflow it has not started yet (lazy sessions excluded)', async () =>
      sessions().countDocuments(waitingFilter(await readState()), { hint: { _id: 1 }, maxTimeMS: WAITING_COUNT_BUDGET_MS }),
    );
    waiting('clicktrail_conversions_awaiting_signal', 'Accepted conversions past the hand-over\'s cursor, which it has not signalled to their session yet', async () =>
      inbounds().countDocuments(waitingConversions(await readConversionState()), { hint: { _id: 1 }, maxTimeMS: WAITING_COUNT_BUDGET_MS }),
    );
  }

  /** A failed call to MongoDB (driver or mongoose error) or Temporal; true when it was counted. */
  dependencyError(err: unknown, operation: string, dependency?: Dependency): boolean {
    const which = dependency ?? (isMongoError(err) ? 'mongodb' : null);
    if (!which) return false;
    this.dependencyErrors.inc({ dependency: which, operation });
    return true;
  }
}

/** The driver's errors are Mongo*Error; mongoose's own (buffering timeouts, disconnected) MongooseError. */
export function isMongoError(err: unknown): boolean {
  return err instanceof Error && /^Mongo/.test(err.name);
}
