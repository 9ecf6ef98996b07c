import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { pin } from './children';
import type { EnginePriority } from './args';
import { descendants } from './cpu';

// Production's shape on two cores: the server under test and the load generator on one core, the
// engine (Temporal server, clicktrail worker, FerretDB and PostgreSQL, baseline (d)) on the other,
// so that the engine's work cannot steal the redirect's CPU. The MongoDB-only baselines get the
// same split: their database is on the engine core. Where taskset or a second core is missing the
// bench runs unpinned and says so.

export interface CoreLayout {
  serverCpu: number;
  engineCpu: number;
}

export function planLayout(wanted: boolean, priority: EnginePriority): { layout: CoreLayout | null; note: string } {
  if (!wanted) return { layout: null, note: 'unpinned (--unpinned): the kernel spreads every process over the cores' };
  const problem =
    process.platform !== 'linux'
      ? `${process.platform} has no taskset`
      : os.cpus().length < 2
        ? 'one core only'
        : !hasTaskset()
          ? 'taskset not found (Debian: util-linux)'
          : null;
  if (problem) {
    console.warn(`bench: WARNING: cannot pin processes to cores (${problem}); running unpinned, figures are not shaped like production`);
    return { layout: null, note: `unpinned (${problem})` };
  }
  return {
    layout: { serverCpu: 0, engineCpu: 1 },
    note: `pinned with taskset: CPU 0 runs the load generator (bench process, postback sink included) and the server under test; CPU 1 runs the engine: Temporal dev server, clicktrail worker, FerretDB and PostgreSQL (all their threads and children), and baseline (d); ${PRIORITY_NOTES[priority]}`,
  };
}

/** Pins a process and everything it has started (PostgreSQL's backends, for one); later children inherit. */
export function pinTree(pid: number, cpu: number): void {
  for (const p of [pid, ...descendants(pid)]) {
    try {
      pin(p, cpu);
    } catch {
      // gone meanwhile
    }
  }
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The nice value of the engine's workflow side (Temporal server, clicktrail worker) under `--engine-priority nice`. */
export const ENGINE_NICE = 10;

const PRIORITY_NOTES: Record<EnginePriority, string> = {
  idle: 'on it the Temporal server and the clicktrail worker run SCHED_IDLE (the database preempts them as soon as it has work, as on separate machines)',
  nice: `on it the Temporal server and the clicktrail worker run at nice ${ENGINE_NICE}, the database at 0`,
  equal: 'on it every process runs at the same priority',
  stopped: 'on it the Temporal server and the clicktrail worker run SCHED_IDLE and are frozen (SIGSTOP) during each measured run (an experiment: the engine does no work while the hot paths are measured)',
};

/**
 * The database first: on the engine core the Temporal server and the clicktrail worker run at a
 * lower priority than FerretDB and PostgreSQL, so that a backlog of workflow work delays
 * workflows, not the hot paths' one write. In production they are different machines; sharing one
 * core at equal priority would make every insert wait behind workflow tasks, which no deployment
 * does. nice 10 was not enough: on this kernel's scheduler (EEVDF) a woken database process still
 * waits for the running task's slice, several times per request (FerretDB, then PostgreSQL, per
 * operation); a SCHED_IDLE task is preempted at once. Every thread of the process tree (both are
 * per thread on Linux; later threads inherit them).
 */
export function yieldToDatabase(pid: number, priority: EnginePriority): void {
  if (priority === 'equal') return;
  const command = priority !== 'nice' ? (tid: string) => ['chrt', ['--idle', '-p', '0', tid]] as const : (tid: string) => ['renice', ['-n', String(ENGINE_NICE), '-p', tid]] as const;
  for (const p of [pid, ...descendants(pid)]) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const [file, args] = command(tid);
        execFileSync(file, args, { stdio: 'ignore' });
      } catch {
        // gone meanwhile
      }
    }
  }
}

/** SIGSTOP (or SIGCONT) to a process and all its descendants: `--engine-priority stopped`. */
export function freeze(pid: number | undefined, frozen: boolean): void {
  if (!pid) return;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      process.kill(p, frozen ? 'SIGSTOP' : 'SIGCONT');
    } catch {
      // gone meanwhile
    }
  }
}
