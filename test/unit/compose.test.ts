import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { configSchema, loadConfig } from '../../src/config';

// No docker engine runs here, so the compose files are checked as data (audit L9): valid YAML,
// secrets required from the environment with no defaults, nothing but the API published beyond
// loopback, MongoDB with authentication, and the app's environment accepted by src/config.ts.

const root = path.resolve(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const base = read('docker-compose.yml');
const mtls = read('docker-compose.mtls.yml');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- compose documents are checked field by field below
const compose = parse(base, { merge: true }) as any;

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error} (unset or empty counts as missing). */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    const value = env[name];
    if (value) return value;
    if (op === '?') throw new Error(`${name}: ${arg}`);
    return op === '-' ? (arg ?? '') : '';
  });
}

/** Interpolates every string of a parsed document, as compose does (comments are not interpolated). */
function resolve(text: string, env: Record<string, string>): unknown {
  const walk = (v: unknown): unknown =>
    typeof v === 'string' ? interpolate(v, env) : Array.isArray(v) ? v.map(walk) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)])) : v;
  return walk(parse(text, { merge: true }));
}

const secrets = {
  PUBLIC_BASE_URL: 'https://track.example',
  MONGO_ROOT_USER: 'root',
  MONGO_ROOT_PASSWORD: 'r00t-pw',
  MONGO_APP_USER: 'clicktrail',
  MONGO_APP_PASSWORD: 'app-pw',
  TEMPORAL_DB_USER: 'temporal',
  TEMPORAL_DB_PASSWORD: 'db-pw',
};

test('both files parse as YAML with the expected services', () => {
  expect(Object.keys(compose.services).sort()).toEqual(
    ['clicktrail-api', 'clicktrail-worker', 'mongodb', 'postgresql', 'temporal', 'temporal-search-attributes', 'temporal-ui'].sort(),
  );
  const overlay = parse(mtls, { merge: true });
  for (const name of Object.keys(overlay.services)) expect(compose.services).toHaveProperty(name);
});

test('no secret or user has a default: each is required from the environment', () => {
  for (const text of [base, mtls]) {
    expect(text).not.toMatch(/\$\{[A-Z_]*(PASSWORD|USER|SECRET|KEY)[A-Z_]*:-/);
  }
  const { environment } = compose.services.mongodb;
  expect(environment.MONGO_INITDB_ROOT_USERNAME).toMatch(/^\$\{MONGO_ROOT_USER:\?/);
  expect(environment.MONGO_INITDB_ROOT_PASSWORD).toMatch(/^\$\{MONGO_ROOT_PASSWORD:\?/);
  expect(compose.services.postgresql.environment.POSTGRES_PASSWORD).toMatch(/^\$\{TEMPORAL_DB_PASSWORD:\?/);
  expect(() => resolve(base, secrets)).not.toThrow();
  expect(() => resolve(base, { ...secrets, MONGO_APP_PASSWORD: '' })).toThrow(/MONGO_APP_PASSWORD/);
  expect(() => resolve(base, { ...secrets, PUBLIC_BASE_URL: '' })).toThrow(/PUBLIC_BASE_URL/);
});

test('the app connects to MongoDB as its own user, created by the mounted init script', () => {
  const uri = compose.services['clicktrail-api'].environment.MONGODB_URI as string;
  expect(uri).toMatch(/^mongodb:\/\/\$\{MONGO_APP_USER:\?[^}]*\}:\$\{MONGO_APP_PASSWORD:\?[^}]*\}@mongodb:27017\/clicktrail\?authSource=clicktrail$/);
  const mounts = compose.services.mongodb.volumes as string[];
  const init = mounts.find((m) => m.includes('docker-entrypoint-initdb.d'));
  expect(init).toBeDefined();
  expect(existsSync(path.join(root, init!.split(':')[0]!))).toBe(true);
});

test('Temporal, its UI and (by default) the API are published on loopback only; MongoDB and PostgreSQL not at all', () => {
  const published = (service: string) => (compose.services[service].ports ?? []) as string[];
  expect(published('mongodb')).toEqual([]);
  expect(published('postgresql')).toEqual([]);
  for (const service of ['temporal', 'temporal-ui']) {
    for (const port of published(service)) expect(port).toMatch(/^127\.0\.0\.1:/);
  }
  expect(interpolate(published('clicktrail-api')[0]!, secrets)).toBe('127.0.0.1:8080:8080');
});

test("the app services' environment, interpolated, is a valid production configuration", () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  const doc = resolve(base, secrets) as any;
  const known = new Set(Object.keys(configSchema.shape));
  for (const service of ['clicktrail-api', 'clicktrail-worker']) {
    const env = Object.fromEntries(Object.entries(doc.services[service].environment as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
    const config = loadConfig(env);
    expect(config.NODE_ENV).toBe('production');
    expect(config.DEMO_ROUTES).toBe(false);
    expect(config.MONGODB_URI).toBe('mongodb://clicktrail:app-pw@mongodb:27017/clicktrail?authSource=clicktrail');
  }
});

test('the mTLS overlay gives the app the TEMPORAL_TLS_* settings src/config.ts reads', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  const overlay = resolve(mtls, { TEMPORAL_CERTS_DIR: '/etc/certs', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }) as any;
  const env = overlay.services['clicktrail-worker'].environment as Record<string, string>;
  const known = new Set(Object.keys(configSchema.shape));
  expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
  expect(env).toMatchObject({ TEMPORAL_TLS_CERT: '/certs/client.pem', TEMPORAL_TLS_KEY: '/certs/client.key', TEMPORAL_TLS_CA: '/certs/ca.pem' });
  expect(overlay.services.temporal.environment.TEMPORAL_TLS_REQUIRE_CLIENT_AUTH).toBe('true');
});
