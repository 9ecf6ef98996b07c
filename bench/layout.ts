import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { pin } from './children';
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

export function planLayout(wanted: boolean): { layout: CoreLayout | null; note: string } {
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
    note: 'pinned with taskset: CPU 0 runs the load generator (bench process, postback sink included) and the server under test; CPU 1 runs the engine: Temporal dev server, clicktrail worker, FerretDB and PostgreSQL (all their threads and children), and baseline (d)',
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
