import { readFileSync } from 'node:fs';
import type { LocalStack } from '../../src/local-stack/local-stack';
import type { ServerChild } from '../children';
import type { PublisherSink } from './publisher-sink';

// What a scenario can do to the running system. The database is whatever the local stack runs:
// "freezing" it stops the process clients speak the MongoDB wire protocol to (FerretDB; PostgreSQL
// behind it keeps running, as a server whose front end hangs would leave it), "stopping" it stops
// every database process the stack started and starts them again on the same data.

export interface FaultTargets {
  stack: LocalStack;
  sink: PublisherSink;
  worker(): ServerChild;
  /** Starts a new worker process (after a kill). */
  restartWorker(): Promise<void>;
  log(line: string): void;
}

export function frontDatabasePids(stack: LocalStack): number[] {
  return stack.processes().filter((p) => p.name === 'ferretdb').map((p) => p.pid);
}

export const faults = {
  async killWorker(t: FaultTargets): Promise<void> {
    const { pid } = t.worker();
    process.kill(pid, 'SIGKILL');
    t.log(`kill -9 worker (pid ${pid})`);
  },
  async restartWorker(t: FaultTargets): Promise<void> {
    await t.restartWorker();
    t.log(`worker restarted (pid ${t.worker().pid})`);
  },
  async freezeDatabase(t: FaultTargets): Promise<void> {
    const pids = frontDatabasePids(t.stack);
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    t.log(`database frozen (SIGSTOP ${pids.join(', ')})`);
  },
  async thawDatabase(t: FaultTargets): Promise<void> {
    const pids = frontDatabasePids(t.stack);
    for (const pid of pids) process.kill(pid, 'SIGCONT');
    t.log(`database thawed (SIGCONT ${pids.join(', ')})`);
  },
  async stopDatabase(t: FaultTargets): Promise<void> {
    await t.stack.stopDatabase();
    t.log('database stopped');
  },
  async startDatabase(t: FaultTargets): Promise<void> {
    await t.stack.startDatabase();
    t.log('database started');
  },
  async stopTemporal(t: FaultTargets): Promise<void> {
    await t.stack.stopTemporal();
    t.log('Temporal server stopped');
  },
  async startTemporal(t: FaultTargets): Promise<void> {
    await t.stack.startTemporal();
    t.log('Temporal server started (same state file)');
  },
  sink: (mode: 'ok' | 'fail' | 'hang') => async (t: FaultTargets) => {
    t.sink.setMode(mode);
    t.log(`publisher endpoint: ${mode === 'ok' ? 'answers 200' : mode === 'fail' ? 'answers 500' : 'holds requests (timeouts)'}`);
  },
};

/** Whatever a scenario left broken (it failed half-way), repaired before the books are read. */
export async function heal(t: FaultTargets): Promise<void> {
  if (frontDatabasePids(t.stack).some(isFrozen)) await faults.thawDatabase(t);
  if (t.sink.mode !== 'ok') await faults.sink('ok')(t);
  const running = new Set(t.stack.processes().map((p) => p.name));
  if (!running.has('ferretdb')) await faults.startDatabase(t);
  if (!running.has('temporal')) await faults.startTemporal(t);
  if (!isAlive(t.worker().pid)) await faults.restartWorker(t);
}

/** State T in /proc: stopped by a signal. */
function isFrozen(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface Step {
  /** Seconds after the previous step ended (a worker's restart takes seconds on a busy machine). */
  afterSec: number;
  run: (t: FaultTargets) => Promise<void>;
}

export interface Scenario {
  name: string;
  what: string;
  steps: Step[];
}

// The load runs LOAD_SEC seconds; steps that end after it are still part of the scenario (its
// postbacks are retried for a minute, and the books are read only after the last step).
export const SCENARIOS: Scenario[] = [
  {
    name: 'worker-kill',
    what: 'kill -9 the worker twice while sessions, conversions and deliveries are in flight, restarting it each time',
    steps: [
      { afterSec: 6, run: faults.killWorker },
      { afterSec: 3, run: faults.restartWorker },
      { afterSec: 6, run: faults.killWorker },
      { afterSec: 1, run: faults.restartWorker },
    ],
  },
  {
    name: 'database',
    what: 'freeze the database (SIGSTOP) for 6 s, thaw it (SIGCONT), then stop it for 5 s and start it again',
    steps: [
      { afterSec: 4, run: faults.freezeDatabase },
      { afterSec: 6, run: faults.thawDatabase },
      { afterSec: 5, run: faults.stopDatabase },
      { afterSec: 5, run: faults.startDatabase },
    ],
  },
  {
    name: 'temporal-restart',
    what: 'stop the Temporal dev server (state in its SQLite file) for 6 s, then start it again',
    steps: [
      { afterSec: 6, run: faults.stopTemporal },
      { afterSec: 6, run: faults.startTemporal },
    ],
  },
  {
    name: 'publisher-flaky',
    what: 'the publisher endpoint answers 500 for 8 s, then holds requests past the delivery timeout for 8 s, then recovers',
    steps: [
      { afterSec: 0, run: faults.sink('fail') },
      { afterSec: 8, run: faults.sink('hang') },
      { afterSec: 8, run: faults.sink('ok') },
    ],
  },
];
