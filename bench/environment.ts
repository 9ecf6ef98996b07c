import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../src/local-stack/local-stack';

// The machine and the versions a result was measured with, so that numbers from different runs
// are compared knowingly.

export interface Environment {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  packages: Record<string, string>;
  temporalCli: string;
  ferretdb: string;
  postgresql: string;
  commit: string;
}

const PACKAGES = ['@temporalio/client', '@temporalio/worker', 'mongoose', 'mongodb', 'express', 'autocannon'];

export function describeEnvironment(): Environment {
  const packages: Record<string, string> = {};
  for (const name of PACKAGES) {
    try {
      packages[name] = JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      packages[name] = 'unknown';
    }
  }
  const bin = (name: string) => path.join(REPO_ROOT, '.tools', 'bin', name);
  return {
    date: new Date().toISOString(),
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    packages,
    temporalCli: firstLine(() => execFileSync(bin('temporal'), ['--version'], { encoding: 'utf8' })),
    ferretdb: firstLine(() => execFileSync(bin('ferretdb'), ['--version'], { encoding: 'utf8' })).replace(/^version:\s*/, ''),
    postgresql: firstLine(() => {
      const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
      return execFileSync(`/usr/lib/postgresql/${versions[0]}/bin/postgres`, ['--version'], { encoding: 'utf8' });
    }).replace(/^postgres \(PostgreSQL\)\s*/, ''),
    commit: firstLine(() => {
      const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
      const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'workflows', 'activities'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
      return dirty ? `${head} (with uncommitted changes in src/workflows/activities)` : head;
    }),
  };
}

function firstLine(run: () => string): string {
  try {
    return run().trim().split('\n')[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
