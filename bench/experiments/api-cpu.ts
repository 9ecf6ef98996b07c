import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { freePort, startLocalStack } from '../../src/local-stack/local-stack';
import { connectDatabase } from '../../src/persistence/database';
import { bundleWorkflows } from '../../src/temporal/worker';
import { startChild, type ServerChild } from '../children';
import { cpuBetween, snapshotCpu } from '../cpu';
import { freeze, pinTree, yieldToDatabase } from '../layout';
import { runLoad } from '../load';
import { clickPath, seedFixture } from '../seed';
import { visitor, visitorHeaders } from '../traffic-mix';

// The click path of one API process, variants A/B on one stack laid out as the bench's (API and
// load generator on CPU 0, the database on CPU 1): each variant's server is started fresh, loaded
// at a fixed offered rate (its CPU per click is steadier there than at saturation), then
// saturated, and stopped; variants interleave round by round, the MongoDB-only tracker (b) first
// in each. Quicker and quieter than `npm run bench -- --only click` for one question at a time.
//
//   npx tsc -p tsconfig.build.json && node dist/bench/experiments/api-cpu.js [--rounds 3] [--rate 600] [--seconds 8] \
//     [--worker [--worker-env '{"K":"V"}'] [--settle 20]] [--no-tracker] [--logs <dir>] \
//     --variant '{"name":"no-batch","env":{"K":"V"},"execArgv":[],"frozenEngine":false,"burner":false}' …
//
// --worker: a clicktrail worker on CPU 1 at SCHED_IDLE, with the Temporal server, as the bench
// runs them: it starts the clicks' workflows during the load; `frozenEngine` stops both while a
// variant is measured. `burner`: net-burner.ts at SCHED_IDLE on CPU 1 during the variant's runs.
// --logs keeps each server's output (e.g. with --trace-gc). The database's CPU per click is
// approximate: a PostgreSQL backend that exits meanwhile takes its CPU time with it.

interface Variant {
  name: string;
  execArgv?: string[];
  env?: Record<string, string>;
  /** The MongoDB-only tracker instead of clicktrail. */
  tracker?: boolean;
  /** With --worker: the worker and the Temporal server frozen (SIGSTOP) while this variant is measured. */
  frozenEngine?: boolean;
  /** net-burner.ts on the database's core, at SCHED_IDLE, while this variant is measured. */
  burner?: boolean;
}

function startBurner(): ChildProcess {
  const burner = spawn('taskset', ['-c', '1', 'chrt', '-i', '0', process.execPath, path.join(__dirname, 'net-burner.js')], { stdio: 'ignore' });
  burner.on('error', (err) => console.error(`burner: ${String(err)}`));
  return burner;
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const rounds = flag('rounds', 3);
  const rate = flag('rate', 600);
  const seconds = flag('seconds', 8);
  const logsAt = process.argv.indexOf('--logs');
  const logDir = logsAt > 0 ? process.argv[logsAt + 1]! : null;
  // --worker: a clicktrail worker on the engine core (SCHED_IDLE, as the bench runs it) starts the clicks' workflows meanwhile.
  const withWorker = process.argv.includes('--worker');
  const settleSec = flag('settle', 20);
  const workerEnvAt = process.argv.indexOf('--worker-env');
  const workerEnv = workerEnvAt > 0 ? (JSON.parse(process.argv[workerEnvAt + 1]!) as Record<string, string>) : {};
  const variants: Variant[] = [
    ...(process.argv.includes('--no-tracker') ? [] : [{ name: 'tracker (b)', tracker: true }]),
    ...process.argv.flatMap((a, i) => (process.argv[i - 1] === '--variant' ? [JSON.parse(a) as Variant] : [])),
  ];
  if (!variants.some((v) => !v.tracker)) variants.push({ name: 'clicktrail' });

  const stops: (() => Promise<void>)[] = [];
  const engine: number[] = [];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'clicktrail-api-cpu-'));
  const stack = await startLocalStack({ temporalPort: await freePort(), temporalUiPort: null, mongoPort: await freePort(), dataDir, log: () => undefined });
  try {
    pinTree(process.pid, 0);
    for (const p of stack.processes()) pinTree(p.pid, 1);
    const mongoUri = stack.mongoUri('clicktrail');
    await connectDatabase(mongoUri);
    const fixture = await seedFixture('http://127.0.0.1:9', ['click']);
    const clickUrlPath = clickPath(fixture, 'click', 'abc');
    const env = {
      NODE_ENV: 'production',
      ALLOW_INSECURE_PUBLIC_URL: 'true',
      LOG_LEVEL: 'info',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      MONGODB_URI: mongoUri,
      BENCH_MONGO_URI: stack.mongoUri('tracker'),
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_TASK_QUEUE: 'clicktrail-api-cpu',
      TRUSTED_PROXIES: 'loopback',
      ROLE: 'api',
    };
    if (withWorker) {
      const bundlePath = path.join(dataDir, 'workflow-bundle.js');
      writeFileSync(bundlePath, (await bundleWorkflows() as { code: string }).code);
      const worker = await startChild({ name: 'worker', script: path.join(__dirname, '..', 'servers', 'clicktrail.js'), env: { ...env, ROLE: 'worker', BENCH_WORKFLOW_BUNDLE: bundlePath, ...workerEnv }, logFile: path.join(logDir ?? dataDir, 'worker.log'), cpu: 1 });
      yieldToDatabase(worker.pid, 'idle');
      const temporal = stack.processes().find((p) => p.name === 'temporal');
      if (temporal) yieldToDatabase(temporal.pid, 'idle');
      stops.push(() => worker.stop());
      engine.push(worker.pid, ...(temporal ? [temporal.pid] : []));
    }
    let visitors = 0;
    const nextHeaders = () => visitorHeaders(visitor(visitors++, { bots: 0.05, duplicates: 0.05 }, 2));
    for (let round = 1; round <= rounds; round++) {
      for (const v of variants) {
        const server: ServerChild = await startChild({
          name: v.name,
          script: path.join(__dirname, '..', 'servers', v.tracker ? 'mongo-only-tracker.js' : 'clicktrail.js'),
          env: { ...env, ...v.env },
          execArgv: v.execArgv ?? [],
          logFile: path.join(logDir ?? dataDir, `${v.name.replace(/\W+/g, '-')}-${round}.log`),
          cpu: 0,
        });
        const url = `${server.url}${clickUrlPath}`;
        if (v.frozenEngine) for (const pid of engine) freeze(pid, true);
        const burner = v.burner ? startBurner() : null;
        await runLoad({ url, connections: 10, durationSec: 3, nextHeaders });
        const labels = { api: server.pid, db: stack.processes().find((p) => p.name === 'postgresql')?.pid, ferretdb: stack.processes().find((p) => p.name === 'ferretdb')?.pid };
        const before = snapshotCpu(labels);
        const fixed = await runLoad({ url, connections: 10, durationSec: seconds, overallRate: rate, nextHeaders });
        const cpu = cpuBetween(before, snapshotCpu(labels));
        const perReq = (pct: number | undefined) => ((pct ?? 0) / 100) * cpu.seconds * 1e6 / fixed.responses;
        const saturated = await runLoad({ url, connections: 10, durationSec: seconds, nextHeaders });
        burner?.kill();
        await server.stop();
        if (v.frozenEngine) for (const pid of engine) freeze(pid, false);
        // The engine's backlog of this variant's clicks, before the next variant runs.
        if (engine.length) await new Promise((r) => setTimeout(r, settleSec * 1000));
        const line = `round ${round} ${v.name.padEnd(24)} at ${rate}/s: API ${perReq(cpu.processes.api).toFixed(0)} µs/click, database ${(perReq(cpu.processes.db) + perReq(cpu.processes.ferretdb)).toFixed(0)} µs/click, p50 ${fixed.latencyMs.p50} ms, p99 ${fixed.latencyMs.p99} ms; saturated ${saturated.rps} req/s${Object.keys(saturated.statusCodes).join(',') === '302' ? '' : ` codes ${JSON.stringify(saturated.statusCodes)}`}`;
        console.log(line);
      }
    }
  } finally {
    for (const stop of stops) await stop();
    await mongoose.disconnect();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
