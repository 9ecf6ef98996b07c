import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../src/local-stack/local-stack';

// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time by
// package or project file, then the costliest functions. Enough to find a hotspot without a
// browser; open the file in Chrome DevTools for the call tree.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A profile's nodes by id, and each node's self time in µs (a sample's time is the delta to the next sample). */
export function readProfile(file: string): { byId: Map<number, ProfileNode>; selfUs: Map<number, number>; nodes: ProfileNode[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  return { byId, selfUs, nodes: profile.nodes };
}

export function summarizeProfile(file: string, top = 25): string {
  const { byId, selfUs, nodes } = readProfile(file);
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idle = sumWhere(selfUs, byId, (n) => ['(idle)', '(program)', '(garbage collector)'].includes(n.callFrame.functionName));

  // Node internals and natives charged to the nearest package or project frame that called
  // them: "where does the work start", which self time alone scatters over streams and events.
  const parentOf = new Map<number, number>();
  for (const n of nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const charged = new Map<string, number>();
  for (const [id, us] of selfUs) {
    let node = byId.get(id);
    let label = place(node!.callFrame.url, node!.callFrame.functionName);
    while (node && !isOwner(node.callFrame.url)) {
      const parent = parentOf.get(node.id);
      node = parent === undefined ? undefined : byId.get(parent);
      if (node && isOwner(node.callFrame.url)) label = place(node.callFrame.url, node.callFrame.functionName);
    }
    charged.set(label, (charged.get(label) ?? 0) + us);
  }

  const byPlace = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    byPlace.set(place(f.url, f.functionName), (byPlace.get(place(f.url, f.functionName)) ?? 0) + us);
    const fn = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  const lines = [
    `${(total / 1e6).toFixed(1)} s sampled; idle ${pct(idle['(idle)'] ?? 0)}, GC ${pct(idle['(garbage collector)'] ?? 0)}, (program) ${pct(idle['(program)'] ?? 0)}`,
    '',
    'self time by package / file:',
    ...[...byPlace].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `  ${pct(us)}  ${k}`),
    '',
    'time by package / file, node internals charged to their caller:',
    ...[...charged].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `  ${pct(us)}  ${k}`),
    '',
    'self time by function:',
    ...[...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `  ${pct(us)}  ${k}`),
  ];
  return `${lines.join('\n')}\n`;
}

function sumWhere(self: Map<number, number>, byId: Map<number, ProfileNode>, pred: (n: ProfileNode) => boolean): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    if (pred(n)) out[n.callFrame.functionName] = (out[n.callFrame.functionName] ?? 0) + us;
  }
  return out;
}

function isOwner(url: string): boolean {
  return url !== '' && !url.startsWith('node:');
}

/** node_modules/<package>, a project file, node:internals, or V8's own categories. */
export function place(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return `npm ${m[1]}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\/([^/]+).*/, 'node:internal/$1');
  return shortUrl(url);
}

function shortUrl(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)/.exec(file);
  if (m) return `${m[1]}/${m[2]}`;
  return file.startsWith(REPO_ROOT) ? path.relative(REPO_ROOT, file) : file;
}

if (require.main === module) {
  for (const file of process.argv.slice(2)) console.log(`${file}\n${summarizeProfile(file)}`);
}
