import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import mongoose from 'mongoose';
import { SEARCH_ATTRIBUTE_NAMES } from '../../workflows/definitions';

// The embedded local stack: the Temporal CLI dev server and the MongoDB-compatible engine
// (FerretDB v2 on a PostgreSQL cluster of the stack's own with the DocumentDB extension, installed by
// scripts/install-engine.sh), started on loopback. `npm start`, the jest global setup and the bench
// share this one module so that tests run against exactly what a developer runs.

export const REPO_ROOT = path.resolve(__dirname, '..', '..', __dirname.includes(`${path.sep}dist${path.sep}`) ? '..' : '');

/** The PostgreSQL major the extensions are built for (scripts/install-engine.sh). */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

export interface LocalStackOptions {
  host?: string;
  temporalPort: number;
  /** null: headless (no Web UI). */
  temporalUiPort: number | null;
  /** FerretDB's port; null: no local engine (MONGODB_URI names an existing MongoDB). */
  mongoPort: number | null;
  /**
   * Temporal's state file, the PostgreSQL cluster and FerretDB's state live here and survive a
   * restart; omit Temporal's persistence with `temporalInMemory`.
   */
  dataDir: string;
  temporalInMemory?: boolean;
  /** Dev-server settings that change its throughput; unset ones take DEFAULT_TEMPORAL_TUNING. */
  temporalTuning?: Partial<TemporalTuning>;
  toolsDir?: string;
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

/** Each A/B-tested by `npm run bench -- --only engine-ab` (bench/results/engine-tuning.md). */
export interface TemporalTuning {
  /**
   * The CLI turns this on by default: every search-attribute lookup re-reads the namespace and
   * cluster metadata from SQLite (about 7 serialized reads per workflow start). Off, the cache is
   * used, which is safe because every attribute is registered at start (`--search-attribute`).
   */
  forceSearchAttributesCacheRefreshOnRead: boolean;
  /** SQLite's `synchronous` pragma for the state file (WAL journal either way; unused in memory). */
  sqliteSynchronous: 'normal' | 'off';
  /** `history.shardIOConcurrency`: writes in flight at once on the dev server's single history shard. */
  shardIOConcurrency: number;
}

export const DEFAULT_TEMPORAL_TUNING: TemporalTuning = {
  forceSearchAttributesCacheRefreshOnRead: false,
  sqliteSynchronous: 'normal',
  shardIOConcurrency: 1,
};

/** The dev server's flags for a tuning. */
export function temporalTuningArgs(t: TemporalTuning, inMemory: boolean): string[] {
  const dynamic = (key: string, value: string | number | boolean) => ['--dynamic-config-value', `${key}=${value}`];
  return [
    // WAL: one fsync per checkpoint instead of several per transaction. The default journal made
    // the dev server fsync-bound (bench: ~15 → ~80 workflow starts/s). With synchronous=normal a
    // crash of the server process loses nothing, only an OS crash may drop the last commits;
    // with off, an OS crash may also corrupt the file.
    ...(inMemory ? [] : ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', `synchronous=${t.sqliteSynchronous}`]),
    ...dynamic('system.forceSearchAttributesCacheRefreshOnRead', t.forceSearchAttributesCacheRefreshOnRead),
    ...dynamic('history.shardIOConcurrency', t.shardIOConcurrency),
  ];
}

export interface LocalStack {
  temporalAddress: string;
  temporalUiUrl: string | null;
  mongoUri: (dbName: string) => string;
  stopTemporal(): Promise<void>;
  startTemporal(): Promise<void>;
  /** Stops the database (FerretDB, then PostgreSQL) and starts it again on the same data and port. */
  stopDatabase(): Promise<void>;
  startDatabase(): Promise<void>;
  /** What runs now, for fault injection (SIGSTOP/SIGCONT) and CPU accounting. */
  processes(): StackProcess[];
  stop(): Promise<void>;
}

export interface StackProcess {
  name: 'temporal' | 'ferretdb' | 'postgresql';
  /** Whether clients of the MongoDB wire protocol depend on it. */
  database: boolean;
  pid: number;
}

export class LocalStackError extends Error {}

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const host = opts.host ?? '127.0.0.1';
  const toolsDir = opts.toolsDir ?? path.join(REPO_ROOT, '.tools', 'bin');
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const log = opts.log ?? (() => undefined);
  const temporalBin = path.join(toolsDir, 'temporal');
  const ferretBin = path.join(toolsDir, 'ferretdb');
  if (!existsSync(temporalBin)) throw new LocalStackError(`${temporalBin} is missing: run \`npm run tools\` (scripts/install-tools.sh) first`);
  if (opts.mongoPort !== null) assertEngineInstalled(ferretBin);
  mkdirSync(opts.dataDir, { recursive: true });

  const ports: [string, number | null][] = [
    ['Temporal (LOCAL_TEMPORAL_PORT)', opts.temporalPort],
    ['Temporal UI (LOCAL_TEMPORAL_UI_PORT)', opts.temporalUiPort],
    ['FerretDB (LOCAL_MONGO_PORT)', opts.mongoPort],
  ];
  for (const [what, port] of ports) {
    if (port !== null) await assertPortFree(host, port, what);
  }

  const temporalArgs = [
    'server', 'start-dev',
    '--ip', host,
    '--port', String(opts.temporalPort),
    '--log-level', 'error',
    ...(opts.temporalUiPort === null ? ['--headless'] : ['--ui-port', String(opts.temporalUiPort)]),
    ...(opts.temporalInMemory ? [] : ['--db-filename', path.join(opts.dataDir, 'temporal.sqlite')]),
    ...temporalTuningArgs({ ...DEFAULT_TEMPORAL_TUNING, ...opts.temporalTuning }, opts.temporalInMemory ?? false),
    ...SEARCH_ATTRIBUTE_NAMES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
  ];

  const temporalAddress = `${host}:${opts.temporalPort}`;
  let temporal: Supervised | null = null;
  let ferret: Supervised | null = null;
  let postgres: Supervised | null = null;

  const startTemporal = async () => {
    const server = supervise('temporal', temporalBin, temporalArgs, log);
    temporal = server;
    await server.until(waitForTemporal(temporalAddress, timeoutMs, server.running), timeoutMs);
  };
  const stopTemporal = async () => {
    await temporal?.stop();
    temporal = null;
  };
  const stopDatabase = async () => {
    await ferret?.stop();
    await postgres?.stop();
    ferret = null;
    postgres = null;
  };
  const stop = async () => {
    await Promise.all([stopTemporal(), stopDatabase()]);
  };
  const startEngine = async (mongoPort: number) => {
    const cluster = await startPostgres(path.join(opts.dataDir, 'postgresql'), timeoutMs, log);
    postgres = cluster.server;
    const ferretDir = path.join(opts.dataDir, 'ferretdb');
    mkdirSync(ferretDir, { recursive: true });
    ferret = supervise(
      'ferretdb',
      ferretBin,
      [
        `--listen-addr=${host}:${mongoPort}`,
        `--postgresql-url=${cluster.url}`,
        `--state-dir=${ferretDir}`,
        // Loopback only, like every server of the local stack; production runs MongoDB with auth.
        '--no-auth',
        '--telemetry=disable',
        '--debug-addr=',
        '--log-level=ERROR',
      ],
      log,
    );
    await ferret.until(waitForMongo(host, mongoPort, timeoutMs, ferret.running), timeoutMs);
  };

  try {
    await Promise.all([startTemporal(), opts.mongoPort === null ? undefined : startEngine(opts.mongoPort)]);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`local stack up: Temporal ${temporalAddress}${opts.mongoPort === null ? '' : `, FerretDB ${host}:${opts.mongoPort}`}`);

  return {
    temporalAddress,
    temporalUiUrl: opts.temporalUiPort === null ? null : `http://${host}:${opts.temporalUiPort}`,
    mongoUri: (db) => {
      if (opts.mongoPort === null) throw new LocalStackError('this local stack runs no database');
      return `mongodb://${host}:${opts.mongoPort}/${db}`;
    },
    startTemporal,
    stopTemporal,
    startDatabase: async () => {
      if (opts.mongoPort === null) throw new LocalStackError('this local stack runs no database');
      if (!ferret) await startEngine(opts.mongoPort);
    },
    stopDatabase,
    processes: () => {
      const all: [StackProcess['name'], boolean, Supervised | null][] = [
        ['temporal', false, temporal],
        ['ferretdb', true, ferret],
        ['postgresql', true, postgres],
      ];
      return all.flatMap(([name, database, p]) => (p?.running() && p.pid ? [{ name, database, pid: p.pid }] : []));
    },
    stop,
  };
}

function assertEngineInstalled(ferretBin: string): void {
  const missing = [
    [ferretBin, 'FerretDB'],
    [path.join(POSTGRES_BIN, 'postgres'), 'PostgreSQL 15'],
    ['/usr/share/postgresql/15/extension/documentdb.control', 'the DocumentDB extension'],
  ].filter(([file]) => !existsSync(file!));
  if (missing.length > 0) {
    throw new LocalStackError(
      `${missing.map(([file, what]) => `${what} (${file})`).join(', ')} missing: run scripts/install-engine.sh, or set MONGODB_URI to an existing MongoDB`,
    );
  }
}

interface Supervised {
  until<T>(ready: Promise<T>, timeoutMs: number): Promise<T>;
  pid: number | undefined;
  /** False once the process has exited (or was stopped): readiness checks give up then. */
  running: () => boolean;
  stop(): Promise<void>;
}

// DocumentDB's settings from FerretDB's packaging (packaging/10-preload.sh of the fork), less
// enableSortbyIdPushDownToPrimaryKey, which this version does not know.
const DOCUMENTDB_SETTINGS = [
  'shared_preload_libraries=pg_cron,pg_documentdb_core,pg_documentdb',
  'cron.database_name=postgres',
  'documentdb.enableCompact=true',
  'documentdb.enableLetAndCollationForQueryMatch=true',
  'documentdb.enableNowSystemVariable=true',
  'documentdb.enableSchemaValidation=true',
  'documentdb.enableBypassDocumentValidation=true',
  'documentdb.enableUserCrud=true',
  'documentdb.maxUserLimit=100',
];

/**
 * The PostgreSQL cluster FerretDB stores into, in `dir` (created on first start, kept after). It
 * listens on a Unix socket in its own directory only: no TCP port to collide with, nothing
 * reachable from the network. PostgreSQL refuses to run as root, so under root it runs as the
 * `postgres` user the Debian package creates, which then owns `dir`.
 */
async function startPostgres(dir: string, timeoutMs: number, log: (l: string) => void): Promise<{ server: Supervised; url: string }> {
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  // The socket path (dir + "/.s.PGSQL.5432") must fit in sockaddr_un's 108 bytes.
  if (Buffer.byteLength(dir) > 90) throw new LocalStackError(`${dir} is too long for PostgreSQL's socket: choose a shorter LOCAL_DATA_DIR`);
  const running = serverHolding(dir);
  if (running) throw new LocalStackError(`a PostgreSQL server (pid ${running}) from an earlier run still uses ${dir}: stop it (kill -INT ${running}) or choose another LOCAL_DATA_DIR`);
  const fresh = !existsSync(path.join(dir, 'PG_VERSION'));
  if (fresh) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (user) {
      chownSync(dir, user.uid, user.gid);
      // The postgres user must be able to pass through the data directory (not to list it).
      const parent = path.dirname(dir);
      chmodSync(parent, statSync(parent).mode | 0o001);
      await run('/usr/bin/test', ['-w', dir], user).catch(() => {
        throw new LocalStackError(`the postgres user cannot write to ${dir}: choose a LOCAL_DATA_DIR whose parent folders it may enter`);
      });
    }
    await run(path.join(POSTGRES_BIN, 'initdb'), ['-D', dir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'], user);
  }
  const server = supervise(
    'postgresql',
    path.join(POSTGRES_BIN, 'postgres'),
    [
      '-D', dir,
      '-c', 'listen_addresses=',
      '-c', `unix_socket_directories=${dir}`,
      '-c', 'max_connections=300',
      '-c', 'shared_buffers=256MB',
      // A crash of the server loses nothing, an OS crash may lose the last commits. Fine for a
      // local stack; production runs MongoDB.
      '-c', 'synchronous_commit=off',
      ...DOCUMENTDB_SETTINGS.flatMap((setting) => ['-c', setting]),
      // DocumentDB (index builds, some commands) and pg_cron connect back to the server with libpq,
      // by default over TCP to localhost, where this cluster does not listen.
      '-c', `documentdb.localhost_connection_string=host='${dir}'`,
      '-c', `cron.host=${dir}`,
    ],
    log,
    // SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
    { user, stopSignal: 'SIGINT' },
  );
  try {
    // Also the readiness check: psql fails until the server accepts connections.
    const psql = ['-h', dir, '-U', 'postgres', '-d', 'postgres', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', 'CREATE EXTENSION IF NOT EXISTS documentdb CASCADE'];
    await server.until(retryUntil(() => run(path.join(POSTGRES_BIN, 'psql'), psql, user), timeoutMs, server.running), timeoutMs);
  } catch (err) {
    await server.stop();
    throw err;
  }
  if (fresh) log(`PostgreSQL cluster with DocumentDB created in ${dir}`);
  return { server, url: `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}` };
}

/** The pid in the cluster's lock file when that process still runs (a run killed without its stop). */
function serverHolding(dir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

function postgresUser(): { uid: number; gid: number } {
  let line = '';
  try {
    line = execFileSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).trim();
  } catch {
    // getent exits 2 when there is no such user
  }
  const [, , uid, gid] = line.split(':');
  if (!uid || !gid) throw new LocalStackError('no postgres user to run PostgreSQL as (installing Debian\'s postgresql package creates it: scripts/install-engine.sh)');
  return { uid: Number(uid), gid: Number(gid) };
}

function run(bin: string, args: string[], user?: { uid: number; gid: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...user });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new LocalStackError(`${path.basename(bin)} exited with ${code}:\n${out.trim()}`))));
  });
}

function supervise(
  name: string,
  bin: string,
  args: string[],
  log: (l: string) => void,
  opts: { user?: { uid: number; gid: number }; stopSignal?: NodeJS.Signals } = {},
): Supervised {
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts.user });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', (err) => log(`${name}: ${err.message}`));
  let stopping = false;
  void exited.then((code) => {
    if (!stopping) log(`${name} exited unexpectedly (code ${code}): ${tail.trim().split('\n').slice(-5).join(' | ')}`);
  });

  return {
    pid: child.pid,
    running: () => child.exitCode === null && child.signalCode === null && !stopping,
    async until(ready, timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const died = exited.then((code) => {
        throw new LocalStackError(`${name} exited with code ${code} while starting:\n${tail.trim()}`);
      });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new LocalStackError(`${name} did not become ready within ${timeoutMs} ms:\n${tail.trim()}`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([ready, died, timeout]);
      } finally {
        clearTimeout(timer);
        died.catch(() => undefined);
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      child.kill(opts.stopSignal ?? 'SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

function assertPortFree(host: string, port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new LocalStackError(
          err.code === 'EADDRINUSE'
            ? `port ${port} for ${what} on ${host} is already in use: stop what holds it or choose another port`
            : `cannot listen on ${host}:${port} for ${what}: ${err.message}`,
        ),
      );
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** A free TCP port on loopback, for tests that need a stack of their own. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Retries `what` until it succeeds, the time is up, or the server it waits for is gone. */
async function retryUntil<T>(what: () => Promise<T>, timeoutMs: number, running: () => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await what();
    } catch (err) {
      if (Date.now() > deadline || !running()) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function waitForTemporal(address: string, timeoutMs: number, running: () => boolean): Promise<void> {
  await retryUntil(async () => {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await connection.workflowService.describeNamespace({ namespace: 'default' });
    } finally {
      await connection.close();
    }
  }, timeoutMs, running);
}

async function waitForMongo(host: string, port: number, timeoutMs: number, running: () => boolean): Promise<void> {
  await retryUntil(async () => {
    const client = new mongoose.mongo.MongoClient(`mongodb://${host}:${port}/`, { serverSelectionTimeoutMS: 1000 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
    } finally {
      await client.close();
    }
  }, timeoutMs, running);
}
