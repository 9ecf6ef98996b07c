import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { poolOptions } from '../../src/persistence/database';
import { temporalAuth } from '../../src/temporal/connection-options';
import { workerTuningOptions } from '../../src/temporal/worker';

// Combinations refused at start (audit L3, L9), each naming the variable to fix.

const prod = { NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://track.example' };

test('production refuses an http PUBLIC_BASE_URL unless explicitly allowed', () => {
  expect(() => loadConfig({ ...prod, PUBLIC_BASE_URL: 'http://track.example' })).toThrow(/PUBLIC_BASE_URL="http:\/\/track.example": must be https with NODE_ENV=production/);
  expect(loadConfig({ ...prod, PUBLIC_BASE_URL: 'http://track.example', ALLOW_INSECURE_PUBLIC_URL: 'true' }).PUBLIC_BASE_URL).toBe('http://track.example');
  expect(loadConfig({ PUBLIC_BASE_URL: 'http://127.0.0.1:8080' }).NODE_ENV).toBe('development');
});

test('the demo routes are off by default and refused in production', () => {
  expect(loadConfig({}).DEMO_ROUTES).toBe(false);
  expect(loadConfig({ DEMO_ROUTES: 'true' }).DEMO_ROUTES).toBe(true);
  expect(() => loadConfig({ ...prod, DEMO_ROUTES: 'true' })).toThrow(/DEMO_ROUTES="true": must not be true with NODE_ENV=production/);
  expect(() => loadConfig({ DEMO_ROUTES: 'yes' })).toThrow(/DEMO_ROUTES="yes"/);
});

test('rate limits must be positive integers', () => {
  expect(loadConfig({}).API_RATE_LIMIT_PUBLISHER).toBeGreaterThan(0);
  expect(() => loadConfig({ API_RATE_LIMIT_PUBLISHER: '0' })).toThrow(/API_RATE_LIMIT_PUBLISHER="0"/);
  expect(() => loadConfig({ POSTBACK_AUTH_FAILURES_PER_IP: 'many' })).toThrow(/POSTBACK_AUTH_FAILURES_PER_IP="many"/);
});

test('metrics listeners are off unless a port is given; a bad or shared port stops the start', () => {
  const defaults = loadConfig({});
  expect([defaults.METRICS_HOST, defaults.METRICS_PORT, defaults.WORKER_METRICS_PORT]).toEqual(['127.0.0.1', undefined, undefined]);
  expect(loadConfig({ METRICS_PORT: '9464', WORKER_METRICS_PORT: '0' })).toMatchObject({ METRICS_PORT: 9464, WORKER_METRICS_PORT: 0 });
  expect(() => loadConfig({ METRICS_PORT: '' })).toThrow(/METRICS_PORT="": must be a port number/);
  expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT="70000"/);
  expect(() => loadConfig({ METRICS_PORT: '9464', WORKER_METRICS_PORT: '9464' })).toThrow(/WORKER_METRICS_PORT="9464": must differ from METRICS_PORT/);
});

describe('Temporal TLS and API key', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ct-tls-'));
  const file = (name: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, `-----BEGIN ${name}-----\n`);
    return p;
  };
  const [cert, key, ca] = [file('cert.pem'), file('key.pem'), file('ca.pem')];

  test('none configured: a plain connection, as for the local dev server', () => {
    expect(temporalAuth(loadConfig({}))).toEqual({});
  });

  test('mTLS files are read into the connection options', () => {
    const auth = temporalAuth(loadConfig({ TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }));
    expect(auth.tls).toEqual({
      serverNameOverride: 'temporal.internal',
      serverRootCACertificate: Buffer.from('-----BEGIN ca.pem-----\n'),
      clientCertPair: { crt: Buffer.from('-----BEGIN cert.pem-----\n'), key: Buffer.from('-----BEGIN key.pem-----\n') },
    });
    expect(auth.apiKey).toBeUndefined();
  });

  test('an API key alone implies TLS', () => {
    expect(temporalAuth(loadConfig({ TEMPORAL_API_KEY: 'k' }))).toEqual({ tls: {}, apiKey: 'k' });
  });

  test('a certificate without its key, or a missing file, stops the start naming the variable', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: cert })).toThrow(/TEMPORAL_TLS_KEY="": TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
    expect(() => loadConfig({ TEMPORAL_TLS_CA: path.join(dir, 'nope.pem') })).toThrow(/TEMPORAL_TLS_CA=".*nope.pem": no such file/);
  });
});

test('links follow the server address when PUBLIC_BASE_URL is not set (issue #10 item 5)', () => {
  expect(loadConfig({ HTTP_PORT: '18080' }).PUBLIC_BASE_URL).toBe('http://127.0.0.1:18080');
  expect(loadConfig({ HTTP_HOST: '0.0.0.0', HTTP_PORT: '18080' }).PUBLIC_BASE_URL).toBe('http://127.0.0.1:18080');
  expect(loadConfig({ HTTP_HOST: '::1', HTTP_PORT: '18080' }).PUBLIC_BASE_URL).toBe('http://[::1]:18080');
  expect(loadConfig({}).PUBLIC_BASE_URL).toBe('http://127.0.0.1:8080');
  expect(loadConfig({ HTTP_PORT: '18080', PUBLIC_BASE_URL: 'https://track.example' }).PUBLIC_BASE_URL).toBe('https://track.example');
  // Production must name its public https address.
  expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/PUBLIC_BASE_URL="": must be https/);
});

test('the hand-over and the session workflow policy: defaults, and a bad value names its variable', () => {
  const c = loadConfig({});
  expect([c.SESSION_WORKFLOW_POLICY, c.HANDOVER_CONCURRENCY, c.HANDOVER_LEASE_MS]).toEqual(['every-click', 32, 30_000]);
  expect(loadConfig({ SESSION_WORKFLOW_POLICY: 'skip-bots-and-duplicates' }).SESSION_WORKFLOW_POLICY).toBe('skip-bots-and-duplicates');
  expect(() => loadConfig({ SESSION_WORKFLOW_POLICY: 'lazy' })).toThrow(/SESSION_WORKFLOW_POLICY="lazy"/);
  expect(() => loadConfig({ HANDOVER_CONCURRENCY: '0' })).toThrow(/HANDOVER_CONCURRENCY="0"/);
  expect(() => loadConfig({ HANDOVER_LEASE_MS: '100' })).toThrow(/HANDOVER_LEASE_MS="100"/);
});

test('the first-attempt gate: defaults, settable, and a bad value names its variable', () => {
  const c = loadConfig({});
  expect([c.FIRST_ATTEMPT_PER_ENDPOINT, c.FIRST_ATTEMPT_TOTAL, c.FIRST_ATTEMPT_SLOW_MS]).toEqual([8, 32, 2_000]);
  expect(loadConfig({ FIRST_ATTEMPT_TOTAL: '0' }).FIRST_ATTEMPT_TOTAL).toBe(0);
  expect(() => loadConfig({ FIRST_ATTEMPT_PER_ENDPOINT: '-1' })).toThrow(/FIRST_ATTEMPT_PER_ENDPOINT="-1"/);
  expect(() => loadConfig({ FIRST_ATTEMPT_SLOW_MS: 'fast' })).toThrow(/FIRST_ATTEMPT_SLOW_MS="fast"/);
});

test("a worker's MongoDB pool is bounded, an API's is the driver's default, and a bad size names its variable", () => {
  expect(poolOptions(loadConfig({ ROLE: 'worker' }))).toEqual({ maxPoolSize: 4 });
  expect(poolOptions(loadConfig({ ROLE: 'worker', WORKER_MONGO_POOL_SIZE: '12' }))).toEqual({ maxPoolSize: 12 });
  // The API's requests, and in ROLE=all the hot paths sharing the one pool, must not queue behind a small one.
  expect(poolOptions(loadConfig({ ROLE: 'api', WORKER_MONGO_POOL_SIZE: '12' }))).toEqual({});
  expect(poolOptions(loadConfig({ ROLE: 'all' }))).toEqual({});
  expect(() => loadConfig({ WORKER_MONGO_POOL_SIZE: '0' })).toThrow(/WORKER_MONGO_POOL_SIZE="0"/);
});

test('worker tuning is the SDK default unless set, and a bad value names its variable', () => {
  const defaults = loadConfig({});
  expect(workerTuningOptions(defaults)).toEqual({});
  const tuned = loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '200', WORKER_WORKFLOW_POLLERS: 'autoscaling', WORKER_NON_STICKY_POLL_RATIO: '0.5' });
  expect(workerTuningOptions(tuned)).toEqual({ maxCachedWorkflows: 200, workflowTaskPollerBehavior: { type: 'autoscaling' }, nonStickyToStickyPollRatio: 0.5 });
  expect(workerTuningOptions(loadConfig({ WORKER_WORKFLOW_POLLERS: '16' }))).toEqual({ workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 16 } });
  expect(() => loadConfig({ WORKER_WORKFLOW_POLLERS: '1' })).toThrow(/WORKER_WORKFLOW_POLLERS="1"/);
  expect(() => loadConfig({ WORKER_WORKFLOW_POLLERS: 'many' })).toThrow(/WORKER_WORKFLOW_POLLERS="many": must be `autoscaling` or a whole number/);
  expect(() => loadConfig({ WORKER_NON_STICKY_POLL_RATIO: '0' })).toThrow(/WORKER_NON_STICKY_POLL_RATIO="0"/);
  expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '-1' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS="-1"/);
});
