import type { Client } from '@temporalio/client';
import type { Config } from '../src/config';
import type { Logger } from '../src/log';
import type { Metrics } from '../src/metrics';
import { FirstAttemptGate, type FirstAttemptGateOptions } from '../src/outbound/first-attempt-gate';
import type { OutboundClient } from '../src/outbound/outbound-client';
import type { ConfigCache } from '../src/persistence/config-cache';
import { conversionActivities } from './conversions';
import { deliveryStartActivities } from './delivery-starts';
import { deliveryActivities, deliveryAttempts } from './deliveries';
import { inboundDecisionActivities } from './inbound-decisions';
import { sessionActivities } from './sessions';

export interface ActivityDeps {
  cache: ConfigCache;
  log: Logger;
  outbound: OutboundClient;
  metrics?: Metrics;
  /** A client on the worker's own connection: the session's steps start delivery workflows with it (those whose first attempt failed). */
  temporal: Client;
  /** ROLLUP_LATE_MS: how late a record may land in a quarter-hour before the rollup writer reads it (absent: every conversion marks its quarter-hour). */
  rollupLateMs?: number;
  /** FIRST_ATTEMPT_*: which postbacks the session's notifying step sends itself, the rest going to delivery workflows. */
  firstAttempts: FirstAttemptGateOptions;
}

export function firstAttemptsOf(config: Pick<Config, 'FIRST_ATTEMPT_PER_ENDPOINT' | 'FIRST_ATTEMPT_TOTAL' | 'FIRST_ATTEMPT_SLOW_MS'>): FirstAttemptGateOptions {
  return { perEndpoint: config.FIRST_ATTEMPT_PER_ENDPOINT, total: config.FIRST_ATTEMPT_TOTAL, slowMs: config.FIRST_ATTEMPT_SLOW_MS };
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...sessionActivities(deps.cache),
    ...conversionActivities(deps.cache, deps.log, deps.rollupLateMs),
    ...deliveryActivities(deps.log, deps.outbound, deps.metrics),
    ...deliveryStartActivities(deps.temporal, deps.log, deliveryAttempts(deps.log, deps.outbound, deps.metrics), new FirstAttemptGate(deps.firstAttempts)),
    ...inboundDecisionActivities(),
  };
}

export type Activities = ReturnType<typeof createActivities>;
