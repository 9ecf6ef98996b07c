import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  /** The MongoDB-compatible engine clicktrail and the baseline both run on (scripts/install-engine.sh). */
  engine: { name: string; versions: Record<string, string> };
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
    engine: engine(bin('engine-versions.json')),
    commit: firstLine(() => {
      const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
      const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'workflows', 'activities'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
      return dirty ? `${head} (with uncommitted changes in src/workflows/activities)` : head;
    }),
  };
}

function engine(file: string): Environment['engine'] {
  try {
    const { engine: name, ...versions } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    return { name: name ?? 'unknown', versions };
  } catch {
    return { name: 'unknown (no .tools/bin/engine-versions.json: run scripts/install-engine.sh)', versions: {} };
  }
}

function firstLine(run: () => string): string {
  try {
    return run().trim().split('\n')[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
