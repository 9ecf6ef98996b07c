import { existsSync } from 'node:fs';
import { z } from 'zod';
import { OutboundPolicy } from './outbound/address-policy';

// Every setting is read here, once, from the environment. A bad value stops the process at
// start with the variable's name, never later on a hot path.

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const list = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const flag = z.enum(['true', 'false']).default('false').transform((v) => v === 'true');
/** A port that is off when unset; `0` takes any free port. An empty value is an error, not port 0. */
const optionalPort = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a port number (0 for any free port)')
  .transform(Number)
  .pipe(z.number().max(65535))
  .optional();

const fields = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** api: HTTP only; worker: Temporal worker only; all: both in one process. */
  ROLE: z.enum(['api', 'worker', 'all']).default('all'),

  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: int(8080).pipe(z.number().max(65535)),
  /**
   * The base URL visitors and advertisers reach clicktrail at: printed links, cookie security.
   * Default: where the server listens (HTTP_HOST, HTTP_PORT), so links follow a changed port.
   */
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Proxies whose X-Forwarded-For is believed (express "trust proxy" syntax: IPs, CIDRs, loopback…). */
  TRUSTED_PROXIES: list,

  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
    .default('mongodb://127.0.0.1:27017/clicktrail'),
  /**
   * How long the click, pixel and postback paths wait on one MongoDB operation before their
   * fallback (session handed to Temporal, postback answered 503): a frozen or stopped database.
   */
  MONGO_OP_TIMEOUT_MS: int(2_000, 50),
  /**
   * MongoDB operations a worker process (ROLE=worker) keeps in flight at most (its driver pool);
   * the rest wait in the worker. The engine's writes then cannot crowd the database's CPU that
   * the click, pixel and postback paths share with it.
   */
  WORKER_MONGO_POOL_SIZE: int(4, 1),

  TEMPORAL_ADDRESS: z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('clicktrail'),
  TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),

  /** A MaxMind GeoIP2/GeoLite2 (City or Country) or ip-location-db country file; default: shipped CC0 database. */
  GEOIP_DB_PATH: z.string().optional(),
  /** How long campaign/publisher configuration is cached on the click path. */
  CONFIG_CACHE_TTL_MS: int(5000, 100),
  PUBLISHER_DATA_MAX_PARAMS: int(30, 1),
  PUBLISHER_DATA_MAX_LENGTH: int(256, 8),
  DUPLICATE_CLICK_WINDOW_MS: int(60_000),
  /** Secure + SameSite=None cookies; defaults to true when PUBLIC_BASE_URL is https. */
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),

  /** Outbound postbacks: exponential backoff from the initial interval up to the max, for hours. */
  DELIVERY_RETRY_INITIAL_MS: int(30_000, 10),
  DELIVERY_RETRY_MAX_MS: int(3_600_000, 10),
  DELIVERY_MAX_ATTEMPTS: int(20, 1),
  DELIVERY_TIMEOUT_MS: int(10_000, 100),

  /**
   * Outbound postbacks reach only public addresses. Named hosts (`*.corp.example` for subdomains)
   * and networks (CIDRs) listed here may be private too; cloud metadata addresses never.
   */
  OUTBOUND_ALLOW_HOSTS: list,
  OUTBOUND_ALLOW_NETWORKS: list.superRefine((entries, ctx) => {
    for (const e of entries) {
      const problem = OutboundPolicy.checkNetwork(e);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }
  }),

  /** A session workflow continues as new after this many conversions, to keep its history bounded. */
  SESSION_MAX_CONVERSIONS_PER_RUN: int(200, 1),
  /**
   * A session workflow stays open this long after its window, so that a conversion received in the
   * window but signalled late (the hand-over's lag, a Temporal outage) still counts.
   */
  SESSION_CLOSE_GRACE_MS: int(60_000),
  /**
   * How long a session's database step (a local activity) keeps retrying before the workflow
   * continues as new and retries it there: bounds each run's history during a database outage.
   */
  SESSION_STEP_LIFE_MS: int(3_600_000, 1_000),

  /** Management API bounds: a list page's and a report's database time, a report's rows, dimensions and concurrency per key. */
  API_QUERY_TIME_BUDGET_MS: int(5_000, 10),
  REPORT_TIME_BUDGET_MS: int(20_000, 10),
  REPORT_MAX_ROWS: int(10_000, 1),
  REPORT_MAX_DIMENSIONS: int(4, 1),
  REPORT_MAX_CONCURRENT_PER_KEY: int(2, 1),
  /** Report rollups: how often a worker process recomputes changed blocks (0: this process writes none). */
  ROLLUP_INTERVAL_MS: int(5_000, 0),
  /**
   * How long after its click a session may still land (the click path inserts at once; this is
   * slack). The same in every process: a conversion recorded within half of it skips its rollup mark.
   */
  ROLLUP_LATE_MS: int(120_000, 0),
  /** How long a writer owns a claimed block before another may take it over. */
  ROLLUP_LEASE_MS: int(60_000, 100),
  /** Raw sessions are deleted this many days after their attribution window ends (0: kept); rollups stay. */
  SESSION_RETENTION_DAYS: int(0, 0),

  /**
   * The hand-over (worker processes) starts stored sessions' workflows and signals stored
   * conversions: how often it looks when idle (with a backlog it goes on at once), how many calls
   * it keeps in flight at most, how many items one claim takes, and how long a claim is its own.
   */
  HANDOVER_POLL_MS: int(150, 10),
  HANDOVER_CONCURRENCY: int(32, 1),
  HANDOVER_BATCH: int(200, 1),
  HANDOVER_LEASE_MS: int(30_000, 1_000),
  /**
   * The hand-over starts no session while more workflow tasks than this wait in the session task
   * queue for a worker (src/handover/engine-backlog.ts): sessions wait in MongoDB rather than
   * ahead of conversions in Temporal's queue.
   */
  HANDOVER_MAX_ENGINE_BACKLOG: int(50, 0),
  /**
   * An API process whose click, pixel and postback requests take this long on average (ms) while
   * at least 4 are in flight asks the hand-over to yield: one small claim a second until they are
   * not (src/http/hot-path-load.ts). 0: never.
   */
  HOT_PATH_YIELD_MS: int(10, 0),
  /**
   * every-click: each click starts its 30-day workflow. skip-bots-and-duplicates: a bot or
   * duplicate click is stored and counted, and its workflow starts only if a conversion arrives.
   */
  SESSION_WORKFLOW_POLICY: z.enum(['every-click', 'skip-bots-and-duplicates']).default('every-click'),

  /**
   * Which postbacks a session's notifying step sends itself (worker processes; see FirstAttemptGate):
   * at most this many first attempts in flight to one endpoint and in all, and none for a while to
   * an endpoint that failed or answered slower than FIRST_ATTEMPT_SLOW_MS. A worker has 40 workflow-task
   * slots by default; 32 first attempts in flight leave some to every other session.
   */
  FIRST_ATTEMPT_PER_ENDPOINT: int(8, 0),
  FIRST_ATTEMPT_TOTAL: int(32, 0),
  FIRST_ATTEMPT_SLOW_MS: int(2_000, 1),

  SHUTDOWN_TIMEOUT_MS: int(10_000, 100),

  /**
   * Temporal worker tuning (worker role); unset: the SDK's defaults. Session workflows idle for
   * their whole window, so caching many of them holds memory for nothing; a cache miss replays.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional(),
  /** Workflow task pollers: a maximum (2 or more) or `autoscaling` (the server's feedback decides). */
  WORKER_WORKFLOW_POLLERS: z
    .string()
    .regex(/^(autoscaling|\d+)$/, 'must be `autoscaling` or a whole number of pollers')
    .transform((v) => (v === 'autoscaling' ? v : Number(v)))
    .refine((v) => v === 'autoscaling' || v >= 2, 'must be at least 2 pollers')
    .optional(),
  /** Share of the workflow task pollers on the non-sticky queue, where every new session's first task lands (SDK: 0.2). */
  WORKER_NON_STICKY_POLL_RATIO: z.coerce.number().gt(0).max(1).optional(),

  // --- observability ---
  /**
   * Prometheus /metrics on a listener of its own (business volumes are nobody else's business):
   * off when METRICS_PORT is unset, on METRICS_HOST (loopback by default) otherwise.
   */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_PORT: optionalPort,
  /** The Temporal SDK's own Prometheus metrics (worker role), on METRICS_HOST; off when unset. */
  WORKER_METRICS_PORT: optionalPort,
  /** How long /readyz waits for MongoDB and for Temporal before calling the dependency down. */
  READINESS_TIMEOUT_MS: int(1_000, 10),

  /** How long a dashboard sign-in lasts (never past its API key's own expiry). */
  DASHBOARD_SESSION_TTL_MS: int(8 * 3_600_000, 60_000),

  // --- abuse limits and hardening (security audit M1, M4, L2, L3, L9) ---
  /** Requests per key per window on /api/v1, by key kind (in memory: each API process counts on its own). */
  API_RATE_LIMIT_WINDOW_MS: int(60_000, 1000),
  API_RATE_LIMIT_OPERATOR: int(1200, 1),
  API_RATE_LIMIT_ADVERTISER: int(600, 1),
  API_RATE_LIMIT_PUBLISHER: int(600, 1),
  /** After this many 401 answers from /postback within the window, that IP gets 429 before any work. */
  POSTBACK_AUTH_FAILURES_PER_IP: int(20, 1),
  POSTBACK_AUTH_FAILURE_WINDOW_MS: int(600_000, 1000),
  /** The same for failed dashboard sign-ins (POST /api/v1/session with a wrong key), per IP. */
  SIGN_IN_FAILURES_PER_IP: int(10, 1),
  SIGN_IN_FAILURE_WINDOW_MS: int(600_000, 1000),
  /** The /demo pages (landing, thanks, postback sink): `npm start` turns them on; never in production. */
  DEMO_ROUTES: flag,
  /** Allows NODE_ENV=production with an http PUBLIC_BASE_URL (a closed deployment without TLS, knowingly). */
  ALLOW_INSECURE_PUBLIC_URL: flag,
  /** Temporal mTLS (PEM file paths; cert and key go together) and/or an API key (Temporal Cloud). */
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
});

// Combinations that are each valid alone but unsafe or unusable together, named by variable.
/** http://host:port of the listening server; a wildcard host is reached on loopback. */
export function listeningBaseUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

export const configSchema = fields.superRefine((parsed, ctx) => {
  const c = withBaseUrl(parsed);
  const problem = (name: string, message: string) => ctx.addIssue({ code: 'custom', path: [name], message });
  if (c.NODE_ENV === 'production' && c.DEMO_ROUTES) problem('DEMO_ROUTES', 'must not be true with NODE_ENV=production');
  if (c.NODE_ENV === 'production' && c.PUBLIC_BASE_URL.startsWith('http:') && !c.ALLOW_INSECURE_PUBLIC_URL) {
    problem('PUBLIC_BASE_URL', 'must be https with NODE_ENV=production (cookies would be neither Secure nor SameSite=None); set ALLOW_INSECURE_PUBLIC_URL=true to override');
  }
  if (c.METRICS_PORT !== undefined && c.METRICS_PORT !== 0 && c.METRICS_PORT === c.WORKER_METRICS_PORT) {
    problem('WORKER_METRICS_PORT', `must differ from METRICS_PORT (${c.METRICS_PORT}): both listen on METRICS_HOST`);
  }
  if (Boolean(c.TEMPORAL_TLS_CERT) !== Boolean(c.TEMPORAL_TLS_KEY)) {
    problem(c.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together');
  }
  for (const name of ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA'] as const) {
    const file = c[name];
    if (file && !existsSync(file)) problem(name, `no such file: ${file}`);
  }
});

export type Config = z.infer<typeof configSchema> & { PUBLIC_BASE_URL: string };

function withBaseUrl(c: z.infer<typeof configSchema>): Config {
  return { ...c, PUBLIC_BASE_URL: c.PUBLIC_BASE_URL ?? listeningBaseUrl(c.HTTP_HOST, c.HTTP_PORT) };
}

export class ConfigError extends Error {}

/** One line per problem, naming the variable and the value it had. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], env: NodeJS.ProcessEnv): string {
  return issues
    .map((i) => {
      const name = i.path.join('.');
      return `  ${name}=${JSON.stringify(env[name] ?? '')}: ${i.message}`;
    })
    .join('\n');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration:\n${formatIssues(parsed.error.issues, env)}`);
  }
  return withBaseUrl(parsed.data);
}
