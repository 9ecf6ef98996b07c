import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { startApp, type AppOptions, type RunningApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { managementMounts } from '../../src/http/api/mounts';
import { createLogger } from '../../src/log';

// A clicktrail (API + worker) per test file, against the shared servers from globalSetup, with its
// own database and task queue so test files never see each other's sessions.

export interface TestApp extends RunningApp {
  url: (path: string) => string;
  dbName: string;
}

export function testId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function sharedStack() {
  const temporalAddress = process.env.CT_TEST_TEMPORAL_ADDRESS;
  const mongoPrefix = process.env.CT_TEST_MONGO_URI_PREFIX;
  const bundlePath = process.env.CT_TEST_WORKFLOW_BUNDLE;
  if (!temporalAddress || !mongoPrefix || !bundlePath) throw new Error('integration tests need the jest globalSetup (run them with npm test)');
  return { temporalAddress, mongoPrefix, workflowBundle: { code: readFileSync(bundlePath, 'utf8') } };
}

/** A database name of its own, on the shared FerretDB or another. */
export function testDbName(): string {
  return testId('ct').replace('-', '_');
}

/**
 * The environment of a clicktrail under test, in this process or as a child process: the shared
 * servers, a database and task queue of its own, short delays, and the loopback sinks allowed.
 */
export function testAppEnv(dbName = testDbName(), shared: { mongoPrefix: string; temporalAddress: string } = sharedStack()) {
  return {
    MONGODB_URI: `${shared.mongoPrefix}${dbName}`,
    TEMPORAL_ADDRESS: shared.temporalAddress,
    TEMPORAL_TASK_QUEUE: testId('tq'),
    CONFIG_CACHE_TTL_MS: '200',
    DELIVERY_RETRY_INITIAL_MS: '100',
    DELIVERY_RETRY_MAX_MS: '400',
    DELIVERY_MAX_ATTEMPTS: '5',
    DELIVERY_TIMEOUT_MS: '2000',
    // Sessions of short test windows close soon after them; grace itself is tested on its own.
    SESSION_CLOSE_GRACE_MS: '1000',
    // The HTTP sinks standing in for publishers and providers are on loopback.
    OUTBOUND_ALLOW_NETWORKS: '127.0.0.0/8,::1',
  };
}

export async function startTestApp(
  env: Record<string, string> = {},
  opts: Partial<AppOptions> & { temporalAddress?: string; mongoUri?: string } = {},
): Promise<TestApp> {
  const shared = sharedStack();
  const dbName = testDbName();
  const defaults = testAppEnv(dbName, shared);
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.CT_TEST_LOG ?? 'silent',
    HTTP_PORT: '0',
    ...defaults,
    MONGODB_URI: opts.mongoUri ?? defaults.MONGODB_URI,
    TEMPORAL_ADDRESS: opts.temporalAddress ?? defaults.TEMPORAL_ADDRESS,
    ...env,
  });
  const app = await startApp(config, {
    log: createLogger(config.LOG_LEVEL),
    workflowBundle: shared.workflowBundle,
    mounts: managementMounts,
    ...opts,
  });
  return { ...app, dbName, url: (path) => `${app.httpUrl}${path}` };
}

/** Stops each thing in turn; those a failed start left undefined are skipped. */
export async function stopAll(...running: ({ stop(): Promise<unknown> } | undefined)[]): Promise<void> {
  for (const r of running) await r?.stop();
}

type Falsy = false | null | undefined | 0 | '';

/**
 * Polls until `fn` returns a truthy value; fails with the last value or error seen. A poll that
 * throws counts as "not yet": on a loaded CI machine a query can miss its deadline while the worker
 * is busy, and the next poll answers.
 */
export async function eventually<T>(fn: () => Promise<T | Falsy> | T | Falsy, timeoutMs = 20_000, what = 'condition'): Promise<Exclude<T, Falsy>> {
  const deadline = Date.now() + timeoutMs;
  let last: { value: T | Falsy } | { error: unknown } = { value: undefined };
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as Exclude<T, Falsy>;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() > deadline) {
      if ('error' in last) throw new Error(`timed out waiting for ${what}; last error: ${String(last.error)}`, { cause: last.error });
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last.value)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A request that does not follow redirects, so tests see the 302 itself. */
export function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { redirect: 'manual', headers });
}

/**
 * A browser's top-level navigation (`Sec-Fetch-Mode: navigate`, `Sec-Fetch-Dest: document`), which
 * is what gets click cookies.
 */
export function navigate(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return exactGet(url, { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-fetch-site': 'cross-site', ...headers });
}

/** A GET with exactly these headers, not following redirects. fetch cannot: it always sends `Sec-Fetch-Mode: cors`. */
export function exactGet(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const h = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) h.append(name, v);
        }
        resolve(new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), { status: res.statusCode, headers: h }));
      });
    });
    req.on('error', reject);
    req.end();
  });
}
