import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkflowBundleOption } from '@temporalio/worker';
import type { Router } from 'express';
import mongoose from 'mongoose';
import { createActivities, firstAttemptsOf } from '../activities';
import { listeningBaseUrl, type Config } from './config';
import { DuplicateClicks } from './enrichment/duplicate-clicks';
import { GeoLookup } from './enrichment/geo';
import { metricsServer } from './http/metrics-server';
import { postbackAuthFailureLimit } from './http/rate-limits';
import { readiness } from './http/readiness';
import { HOT_PATH_WINDOW_MS, HotPathLoad, reportHotPathLoad } from './http/hot-path-load';
import { pressedAt, reportPressure } from './persistence/models/hot-path-pressure';
import { createHttpApp } from './http/server';
import type { Logger } from './log';
import { Metrics } from './metrics';
import { OutboundPolicy } from './outbound/address-policy';
import { OutboundClient, type LookupAll } from './outbound/outbound-client';
import { ConfigCache } from './persistence/config-cache';
import { connectDatabase, poolOptions } from './persistence/database';
import { temporalAuth } from './temporal/connection-options';
import { SessionClient } from './temporal/session-client';
import { createWorker } from './temporal/worker';
import { Handover } from './handover/handover';
import { startRollups } from './reports/rollup-start';

export interface AppOptions {
  log: Logger;
  /** A pre-bundled workflow (tests, bench); otherwise the worker bundles at start. */
  workflowBundle?: WorkflowBundleOption;
  /** How outbound deliveries resolve names (tests stand in for DNS); default: the system resolver. */
  outboundLookup?: LookupAll;
  /** Extra routers, e.g. the management API, mounted by the HTTP server. */
  mounts?: (deps: AppDeps) => [string, Router][];
  /** A worker whose run() failed by itself: default, stop what is left and exit the process with 1. */
  onWorkerFailure?: (err: unknown) => void;
}

/**
 * A worker that fails by itself (not stopped by us) must not leave a process that looks alive but
 * handles no workflow task, nor end in an unhandled rejection with no log line: it is logged as
 * fatal and `onFailure` runs.
 */
export function superviseWorker(running: Promise<void>, o: { log: Logger; stopping: () => boolean; onFailure: (err: unknown) => void }): void {
  running.catch((err: unknown) => {
    if (o.stopping()) return;
    o.log.fatal({ err: String(err) }, 'Temporal worker failed; stopping the process');
    o.onFailure(err);
  });
}

export interface AppDeps {
  config: Config;
  log: Logger;
  cache: ConfigCache;
  temporal: SessionClient;
  metrics: Metrics;
}

export interface RunningApp extends AppDeps {
  /** http://host:port of the HTTP server (role api or all). */
  httpUrl: string | null;
  /** http://host:port/metrics when METRICS_PORT is set. */
  metricsUrl: string | null;
  /** The hand-over of the running worker (role worker or all), null while none runs. */
  handover(): Handover | null;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts what the role asks for: HTTP API, Temporal worker (+ the hand-over), or both. */
export async function startApp(config: Config, opts: AppOptions): Promise<RunningApp> {
  const { log } = opts;
  const closers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const close of closers.reverse()) {
      await close().catch((err) => log.warn({ err: String(err) }, 'error during shutdown'));
    }
    closers.length = 0;
  };

  try {
    await connectDatabase(config.MONGODB_URI, config.MONGO_OP_TIMEOUT_MS, poolOptions(config));
    closers.push(() => mongoose.disconnect());

    const cache = new ConfigCache(config.CONFIG_CACHE_TTL_MS);
    // Processes that run the hand-over (workers) count what waits for it.
    const metrics = new Metrics({ waiting: config.ROLE !== 'api' });
    const auth = temporalAuth(config);
    const delivery = {
      initialIntervalMs: config.DELIVERY_RETRY_INITIAL_MS,
      maximumIntervalMs: config.DELIVERY_RETRY_MAX_MS,
      maximumAttempts: config.DELIVERY_MAX_ATTEMPTS,
      timeoutMs: config.DELIVERY_TIMEOUT_MS,
    };
    const sessionOptions = {
      maxConversionsPerRun: config.SESSION_MAX_CONVERSIONS_PER_RUN,
      closeGraceMs: config.SESSION_CLOSE_GRACE_MS,
      stepLifeMs: config.SESSION_STEP_LIFE_MS,
      metrics,
    };
    const temporal = SessionClient.lazy({
      address: config.TEMPORAL_ADDRESS,
      auth,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      delivery,
      ...sessionOptions,
    });
    closers.push(() => temporal.close());
    const deps: AppDeps = { config, log, cache, temporal, metrics };

    let metricsUrl: string | null = null;
    if (config.METRICS_PORT !== undefined) {
      const server = await listen(metricsServer(metrics, log), config.METRICS_HOST, config.METRICS_PORT, 'METRICS_PORT');
      closers.push(() => closeServer(server, config.SHUTDOWN_TIMEOUT_MS));
      metricsUrl = `http://${config.METRICS_HOST}:${(server.address() as AddressInfo).port}/metrics`;
    }

    const outbound = new OutboundClient(OutboundPolicy.fromConfig(config), opts.outboundLookup);
    closers.push(() => outbound.close());
    let worker: { stop(): Promise<void>; handover: Handover } | null = null;
    const startWorker = async () => {
      if (worker) return;
      const { worker: w, connection, client } = await createWorker({
        address: config.TEMPORAL_ADDRESS,
        auth,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        activities: (client) => createActivities({ cache, log: log.child({ component: 'activities' }), outbound, metrics, temporal: client, rollupLateMs: config.ROLLUP_LATE_MS, firstAttempts: firstAttemptsOf(config) }),
        workflowBundle: opts.workflowBundle,
        log: log.child({ component: 'temporal-sdk' }),
        logLevel: config.LOG_LEVEL,
        metricsBindAddress: config.WORKER_METRICS_PORT === undefined ? undefined : `${config.METRICS_HOST}:${config.WORKER_METRICS_PORT}`,
        tuning: config,
      });
      const running = w.run();
      let stopping = false;
      superviseWorker(running, {
        log,
        stopping: () => stopping,
        onFailure: opts.onWorkerFailure ?? (() => void stopAll().finally(() => process.exit(1))),
      });
      // The client is on the worker's own connection, so that starts can be eager (the first
      // workflow task comes back with the start, for this worker).
      const handover = new Handover(new SessionClient(client, config.TEMPORAL_TASK_QUEUE, delivery, sessionOptions), {
        pollMs: config.HANDOVER_POLL_MS,
        // After a round with nothing stored: an item stored later settles no sooner than this after it (but for a slow insert).
        idleMs: Math.max(config.HANDOVER_POLL_MS, config.MONGO_OP_TIMEOUT_MS),
        concurrency: config.HANDOVER_CONCURRENCY,
        batch: config.HANDOVER_BATCH,
        leaseMs: config.HANDOVER_LEASE_MS,
        maxEngineBacklog: config.HANDOVER_MAX_ENGINE_BACKLOG,
        // The budget in which a click's or a conversion's insert is acknowledged (else the click
        // starts its workflow itself, the conversion is answered 503), and a second for the API hosts' clocks.
        settleMs: config.MONGO_OP_TIMEOUT_MS + 1_000,
        eager: true,
        eventRules: (campaignId) => cache.eventRules(campaignId),
        hotPathPressed: pressedAt,
        log: log.child({ component: 'handover' }),
        metrics,
      });
      handover.start();
      worker = {
        handover,
        async stop() {
          // The hand-over first (its batch in flight, its leases given back), then the worker and the connection.
          await handover.stop();
          stopping = true;
          if (w.getState() === 'RUNNING') w.shutdown();
          await running.catch((err) => log.error({ err: String(err) }, 'worker stopped with an error'));
          await connection.close();
        },
      };
    };
    const stopWorker = async () => {
      const w = worker;
      worker = null;
      await w?.stop();
    };
    if (config.ROLE !== 'api') {
      await startWorker();
      closers.push(stopWorker);
    }
    if (config.ROLE !== 'api' && config.ROLLUP_INTERVAL_MS > 0) {
      const rollupLoop = startRollups(config, log.child({ component: 'rollups' }));
      closers.push(() => rollupLoop.stop());
    }

    let httpUrl: string | null = null;
    if (config.ROLE !== 'worker') {
      // HOT_PATH_YIELD_MS=0: no meter at all, nothing added to the hot paths' requests.
      const hotPath = config.HOT_PATH_YIELD_MS > 0 ? new HotPathLoad(config.HOT_PATH_YIELD_MS) : undefined;
      if (hotPath) {
        const reporting = reportHotPathLoad(hotPath, { windowMs: HOT_PATH_WINDOW_MS, report: reportPressure, metrics, log: log.child({ component: 'hot-path-load' }) });
        closers.push(async () => reporting.stop());
      }
      const app = createHttpApp({
        hotPath,
        cache,
        temporal,
        log,
        metrics,
        readiness: readiness({ timeoutMs: config.READINESS_TIMEOUT_MS, temporalPing: (ms) => temporal.ping(ms), metrics }),
        geo: await GeoLookup.open(config.GEOIP_DB_PATH),
        duplicates: new DuplicateClicks(config.DUPLICATE_CLICK_WINDOW_MS),
        secureCookies: config.COOKIE_SECURE === 'auto' ? config.PUBLIC_BASE_URL.startsWith('https:') : config.COOKIE_SECURE === 'true',
        publisherData: { maxParams: config.PUBLISHER_DATA_MAX_PARAMS, maxLength: config.PUBLISHER_DATA_MAX_LENGTH },
        lazyBotsAndDuplicates: config.SESSION_WORKFLOW_POLICY === 'skip-bots-and-duplicates',
        trustedProxies: config.TRUSTED_PROXIES,
        mounts: opts.mounts?.(deps),
        demoRoutes: config.DEMO_ROUTES,
        postbackGuard: postbackAuthFailureLimit({ windowMs: config.POSTBACK_AUTH_FAILURE_WINDOW_MS, failures: config.POSTBACK_AUTH_FAILURES_PER_IP }),
      });
      const server = await listen(app, config.HTTP_HOST, config.HTTP_PORT, 'HTTP_PORT');
      closers.push(() => closeServer(server, config.SHUTDOWN_TIMEOUT_MS));
      const { port } = server.address() as AddressInfo;
      httpUrl = listeningBaseUrl(config.HTTP_HOST, port);
      // HTTP_PORT=0 (any free port) without PUBLIC_BASE_URL: links follow the port actually taken.
      if (config.PUBLIC_BASE_URL === listeningBaseUrl(config.HTTP_HOST, 0)) config.PUBLIC_BASE_URL = httpUrl;
    }

    // Shutdown runs closers in reverse: HTTP drains first, then the worker (its hand-over first), connections.
    return { ...deps, httpUrl, metricsUrl, handover: () => worker?.handover ?? null, startWorker, stopWorker, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function listen(app: { listen(port: number, host: string): Server }, host: string, port: number, name: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`${name} ${port} on ${host} is already in use`) : err),
    );
    server.keepAliveTimeout = 65_000;
  });
}

/** Stops accepting, lets in-flight requests finish, then cuts what is left after the timeout. */
async function closeServer(server: Server, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
  await closed;
  clearTimeout(timer);
}
