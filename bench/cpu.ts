import { readFileSync, readdirSync } from 'node:fs';

// Where the two cores went during a measured run: CPU time per process (its descendants
// included), read from /proc, and the whole machine's busy time, so that load from other
// programs on the machine shows up in the results instead of silently skewing them.

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux this bench targets

export interface CpuSnapshot {
  atMs: number;
  /** Ticks per labelled process tree. */
  processes: Record<string, number>;
  machineBusy: number;
  machineTotal: number;
  cores: number;
}

export interface CpuUsage {
  seconds: number;
  /** Percent of one core, per labelled process tree (200% = both cores of a 2-core machine). */
  processes: Record<string, number>;
  /** Busy percent of one core across the whole machine, ours and everyone else's. */
  machine: number;
  /** machine minus our processes: other programs on the machine. */
  others: number;
  cores: number;
}

function statFields(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after it are space-separated.
    return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** pid → parent pid, for every process visible now. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f) map.set(Number(entry), Number(f[1]));
  }
  return map;
}

function ticks(pid: number): number {
  const f = statFields(pid);
  // utime, stime (fields 14 and 15; index 11 and 12 after the command name)
  return f ? Number(f[11]) + Number(f[12]) : 0;
}

function treeTicks(root: number, tree: Map<number, number>): number {
  let total = ticks(root);
  for (const [pid, ppid] of tree) if (ppid === root) total += treeTicks(pid, tree);
  return total;
}

/** Every process below `root`, children first. */
export function descendants(root: number): number[] {
  const tree = parents();
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of tree) {
      if (ppid !== pid) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** The direct children of this process, by command name (e.g. the Temporal and FerretDB servers). */
export function childPidsByName(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [pid, ppid] of parents()) {
    if (ppid !== process.pid) continue;
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    out[raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'))] = pid;
  }
  return out;
}

function machine(): { busy: number; total: number; cores: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const v = lines[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total, cores: lines.filter((l) => /^cpu\d+ /.test(l)).length };
}

export function snapshotCpu(labelled: Record<string, number | undefined>): CpuSnapshot {
  const tree = parents();
  const processes: Record<string, number> = {};
  for (const [label, pid] of Object.entries(labelled)) {
    if (pid) processes[label] = label === 'load generator' ? ticks(pid) : treeTicks(pid, tree);
  }
  const m = machine();
  return { atMs: Date.now(), processes, machineBusy: m.busy, machineTotal: m.total, cores: m.cores };
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUsage {
  const seconds = (b.atMs - a.atMs) / 1000;
  const pct = (t: number) => Math.round((t / TICKS_PER_SECOND / seconds) * 1000) / 10;
  const processes: Record<string, number> = {};
  let ours = 0;
  for (const [label, t] of Object.entries(b.processes)) {
    const delta = t - (a.processes[label] ?? t);
    processes[label] = pct(delta);
    ours += delta;
  }
  // /proc/stat counts in the same USER_HZ ticks, summed over all cores.
  const machinePct = pct(b.machineBusy - a.machineBusy);
  return { seconds, processes, machine: machinePct, others: Math.max(0, Math.round((machinePct - pct(ours)) * 10) / 10), cores: b.cores };
}

/** Milliseconds of CPU per request (or session), per process and over `involved` (the processes doing the work). */
export function cpuMsPer(cpu: CpuUsage, count: number, involved: string[]): { total: number; processes: Record<string, number> } {
  const ms = (pct: number) => (count > 0 ? Math.round(((pct / 100) * cpu.seconds * 1000 * 1000) / count) / 1000 : NaN);
  const processes: Record<string, number> = {};
  let total = 0;
  for (const label of involved) {
    const pct = cpu.processes[label];
    if (pct === undefined) continue;
    processes[label] = ms(pct);
    total += pct;
  }
  return { total: ms(total), processes };
}
