import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import mongoose from 'mongoose';
import { SEARCH_ATTRIBUTE_NAMES } from '../temporal/search-attributes';

// The embedded local stack: the Temporal CLI dev server and FerretDB (SQLite backend, or a
// PostgreSQL server of the stack's own for the bench), built from the Go module proxy into
// .tools/bin, started on loopback. `npm start` and the jest global setup share this one module so
// that tests run against exactly what a developer runs.

export const REPO_ROOT = path.resolve(__dirname, '..', '..', __dirname.includes(`${path.sep}dist${path.sep}`) ? '..' : '');

export interface LocalStackOptions {
  host?: string;
  temporalPort: number;
  /** null: headless (no Web UI). */
  temporalUiPort: number | null;
  mongoPort: number;
  /** Temporal state file and FerretDB data live here; omit persistence with `temporalInMemory`. */
  dataDir: string;
  temporalInMemory?: boolean;
  /**
   * FerretDB's storage. `sqlite` (default) is embedded and needs nothing installed. `postgresql`
   * starts a PostgreSQL server of its own (Debian's `postgresql` package) on `postgresPort`: its
   * writers do not queue on one database lock, which SQLite's do under concurrent load.
   */
  mongoBackend?: 'sqlite' | 'postgresql';
  postgresPort?: number;
  toolsDir?: string;
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface LocalStack {
  temporalAddress: string;
  temporalUiUrl: string | null;
  mongoUri: (dbName: string) => string;
  stopTemporal(): Promise<void>;
  startTemporal(): Promise<void>;
  stop(): Promise<void>;
}

export class LocalStackError extends Error {}

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const host = opts.host ?? '127.0.0.1';
  const toolsDir = opts.toolsDir ?? path.join(REPO_ROOT, '.tools', 'bin');
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const log = opts.log ?? (() => undefined);
  const temporalBin = path.join(toolsDir, 'temporal');
  const ferretBin = path.join(toolsDir, 'ferretdb');
  for (const bin of [temporalBin, ferretBin]) {
    if (!existsSync(bin)) throw new LocalStackError(`${bin} is missing: run \`npm run tools\` (scripts/install-tools.sh) first`);
  }
  const ferretDir = path.join(opts.dataDir, 'ferretdb');
  mkdirSync(ferretDir, { recursive: true });
  const backend = opts.mongoBackend ?? 'sqlite';
  if (backend === 'postgresql' && !opts.postgresPort) throw new LocalStackError('mongoBackend postgresql needs a postgresPort');

  const ports: [string, number | null][] = [
    ['Temporal (LOCAL_TEMPORAL_PORT)', opts.temporalPort],
    ['Temporal UI (LOCAL_TEMPORAL_UI_PORT)', opts.temporalUiPort],
    ['FerretDB (LOCAL_MONGO_PORT)', opts.mongoPort],
    ['PostgreSQL (postgresPort)', backend === 'postgresql' ? opts.postgresPort! : null],
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
    // WAL with synchronous=NORMAL: one fsync per checkpoint instead of several per transaction.
    // The default made the dev server fsync-bound (bench: ~15 → ~80 workflow starts/s); a crash
    // of the server process still loses nothing, only an OS crash may drop the last commits.
    ...(opts.temporalInMemory
      ? []
      : ['--db-filename', path.join(opts.dataDir, 'temporal.sqlite'), '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal']),
    ...SEARCH_ATTRIBUTE_NAMES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
  ];
  const storageArgs =
    backend === 'postgresql'
      ? ['--handler=postgresql', `--postgresql-url=postgres://ferretdb@${host}:${opts.postgresPort}/postgres`]
      : [
          '--handler=sqlite',
          // Writers take the lock at BEGIN and queue on FerretDB's busy timeout: deferred transactions
          // fail at once with SQLITE_BUSY when two writers race to upgrade (seen under the bench). WAL is
          // FerretDB's default; synchronous=normal drops the fsync per commit (safe against a crash of
          // the process, not of the OS), as for Temporal's file above.
          `--sqlite-url=file:${ferretDir}/?_txlock=immediate&_pragma=synchronous(normal)`,
        ];
  const ferretArgs = [
    `--listen-addr=${host}:${opts.mongoPort}`,
    ...storageArgs,
    `--state-dir=${ferretDir}`,
    '--telemetry=disable',
    '--debug-addr=-',
    '--log-level=error',
  ];

  const temporalAddress = `${host}:${opts.temporalPort}`;
  let temporal: Supervised | null = null;
  let ferret: Supervised | null = null;
  let postgres: Supervised | null = null;

  const startTemporal = async () => {
    temporal = supervise('temporal', temporalBin, temporalArgs, log);
    await temporal.until(waitForTemporal(temporalAddress, timeoutMs), timeoutMs);
  };
  const stopTemporal = async () => {
    await temporal?.stop();
    temporal = null;
  };
  const stop = async () => {
    await Promise.all([stopTemporal(), ferret?.stop()]);
    await postgres?.stop();
    ferret = null;
    postgres = null;
  };

  try {
    if (backend === 'postgresql') {
      postgres = await startPostgres(host, opts.postgresPort!, timeoutMs, log);
    }
    ferret = supervise('ferretdb', ferretBin, ferretArgs, log);
    await Promise.all([startTemporal(), ferret.until(waitForMongo(host, opts.mongoPort, timeoutMs), timeoutMs)]);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`local stack up: Temporal ${temporalAddress}, FerretDB ${host}:${opts.mongoPort}`);

  return {
    temporalAddress,
    temporalUiUrl: opts.temporalUiPort === null ? null : `http://${host}:${opts.temporalUiPort}`,
    mongoUri: (db) => `mongodb://${host}:${opts.mongoPort}/${db}`,
    startTemporal,
    stopTemporal,
    stop,
  };
}

interface Supervised {
  until<T>(ready: Promise<T>, timeoutMs: number): Promise<T>;
  stop(): Promise<void>;
}

/**
 * A PostgreSQL server of the stack's own, for FerretDB's postgresql backend: a fresh cluster,
 * thrown away when the server stops, trust authentication on loopback only. PostgreSQL refuses to
 * run as root, so under root it runs as the `postgres` user the Debian package creates; its
 * cluster then lives in a directory of its own under the system temp dir, which that user can
 * reach without the caller's data directory being opened up.
 */
async function startPostgres(host: string, port: number, timeoutMs: number, log: (l: string) => void): Promise<Supervised> {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => existsSync(path.join(d, 'postgres')));
  if (!bin) throw new LocalStackError('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): run scripts/install-postgresql.sh');
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clicktrail-postgresql-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let server: Supervised | null = null;
  try {
    await run(path.join(bin, 'initdb'), ['-D', dir, '-U', 'ferretdb', '-A', 'trust', '-E', 'UTF8', '--no-sync'], user);
    server = supervise(
      'postgresql',
      path.join(bin, 'postgres'),
      [
        '-D', dir,
        '-p', String(port),
        '-c', `listen_addresses=${host}`,
        '-c', `unix_socket_directories=${dir}`,
        '-c', 'max_connections=300',
        '-c', 'shared_buffers=256MB',
        // Like synchronous=normal for SQLite: a crash of the server loses nothing, an OS crash may
        // lose the last commits. Fine for a local stack; production runs MongoDB.
        '-c', 'synchronous_commit=off',
      ],
      log,
      // SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
      { user, stopSignal: 'SIGINT' },
    );
    await server.until(waitForPort(host, port, timeoutMs), timeoutMs);
  } catch (err) {
    await server?.stop();
    removeDir();
    throw err;
  }
  const started = server;
  return {
    until: (ready, ms) => started.until(ready, ms),
    async stop() {
      await started.stop();
      removeDir();
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  let line = '';
  try {
    line = execFileSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).trim();
  } catch {
    // getent exits 2 when there is no such user
  }
  const [, , uid, gid] = line.split(':');
  if (!uid || !gid) throw new LocalStackError('no postgres user to run PostgreSQL as (installing Debian\'s postgresql package creates it)');
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

function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  return retryUntil(
    () =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect(port, host, () => {
          socket.end();
          resolve();
        });
        socket.once('error', reject);
      }),
    timeoutMs,
  );
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

async function retryUntil<T>(what: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await what();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function waitForTemporal(address: string, timeoutMs: number): Promise<void> {
  await retryUntil(async () => {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await connection.workflowService.describeNamespace({ namespace: 'default' });
    } finally {
      await connection.close();
    }
  }, timeoutMs);
}

async function waitForMongo(host: string, port: number, timeoutMs: number): Promise<void> {
  await retryUntil(async () => {
    const client = new mongoose.mongo.MongoClient(`mongodb://${host}:${port}/`, { serverSelectionTimeoutMS: 1000 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
    } finally {
      await client.close();
    }
  }, timeoutMs);
}
