import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { inbounds } from './persistence/models/inbound';
import { sessions } from './persistence/models/session';

// What operators watch (names documented in the README, "Operations"). One registry per app, not
// prom-client's global one: tests and the bench run several apps in one process.

export type ClickOutcome = 'redirected' | 'bot' | 'duplicate' | 'fallback' | 'not_found' | 'bad_request' | 'error';
export type IntakeOutcome = 'accepted' | 'queued' | 'duplicate' | 'rejected' | 'error';
export type Dependency = 'mongodb' | 'temporal';

/** How long the waiting counts may be reused: a scrape every few seconds costs at most one count each. */
const WAITING_CACHE_MS = 5_000;
/** A count that takes longer than this is not worth blocking a scrape; the last value stays. */
const WAITING_COUNT_BUDGET_MS = 1_000;

export class Metrics {
  readonly registry = new Registry();

  readonly clicks = new Counter({
    name: 'clicktrail_clicks_total',
    help: 'Answered clicks on /c/{campaignId} by outcome (redirected, bot, duplicate: redirected and stored; fallback, not_found, bad_request: refused; error: 500)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly clickStoreFallbacks = new Counter({
    name: 'clicktrail_click_store_fallbacks_total',
    help: 'Clicks MongoDB did not take: handed to Temporal in the workflow start (to=temporal) or only logged at fatal level (to=log)',
    labelNames: ['to'] as const,
    registers: [this.registry],
  });

  readonly sessionStartsDeferred = new Counter({
    name: 'clicktrail_session_starts_deferred_total',
    help: 'Stored clicks whose workflow start the click path left to the recovery sweep (too many starts in flight)',
    registers: [this.registry],
  });

  readonly conversions = new Counter({
    name: 'clicktrail_conversions_total',
    help: 'Pixel and postback requests by source, outcome (accepted, queued: accepted while Temporal was away, duplicate, rejected, error) and the status code of the outcome',
    labelNames: ['source', 'outcome', 'code'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'clicktrail_http_request_duration_seconds',
    help: 'Time to answer, by endpoint (click, pixel, postback, api, other) and status code',
    labelNames: ['endpoint', 'code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly deliveryAttempts = new Counter({
    name: 'clicktrail_delivery_attempts_total',
    help: 'Outbound postback and provider notification attempts by target and outcome (delivered, failed: retried, given_up)',
    labelNames: ['target', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly dependencyErrors = new Counter({
    name: 'clicktrail_dependency_errors_total',
    help: 'Failed calls to MongoDB or Temporal by operation (expected answers such as "already started" are not errors)',
    labelNames: ['dependency', 'operation'] as const,
    registers: [this.registry],
  });

  constructor(opts: { waiting: boolean }) {
    collectDefaultMetrics({ register: this.registry });
    if (!opts.waiting) return;
    // Only processes that serve HTTP sweep: they alone count what waits for the sweep.
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
    // Both counts use the indexes the recovery sweep reads ({workflowStarted, createdAt}, {signalled, at}).
    // Rejected inbound rows share the `signalled: false` prefix: on a huge log the count runs out of
    // its budget, the gauge keeps its last value and the error counter says so; no scrape waits.
    waiting('clicktrail_sessions_awaiting_workflow', 'Stored sessions whose workflow has not been started yet (the recovery sweep starts them)', () =>
      sessions().countDocuments({ workflowStarted: false }, { maxTimeMS: WAITING_COUNT_BUDGET_MS }),
    );
    waiting('clicktrail_conversions_awaiting_signal', 'Accepted conversions not yet signalled to their session (the recovery sweep signals them)', () =>
      inbounds().countDocuments({ signalled: false, outcome: 'accepted' }, { maxTimeMS: WAITING_COUNT_BUDGET_MS }),
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
