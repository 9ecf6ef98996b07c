import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import mongoose from 'mongoose';
import { REPO_ROOT, freePort, startLocalStack } from '../src/local-stack/local-stack';
import { connectDatabase } from '../src/persistence/database';
import { bundleWorkflows } from '../src/temporal/worker';
import { UsageError, parseBenchArgs } from './args';
import { pin } from './children';
import { engineServer, serverScript, startServer, type BenchContext, type HotRun } from './context';
import { childPidsByName } from './cpu';
import { describeEnvironment } from './environment';
import { planLayout, pinTree, yieldToDatabase } from './layout';
import { runCeilingPhase } from './phase-ceiling';
import { runEngineAb } from './phase-engine-ab';
import { runClickPhase } from './phase-click';
import { runEndToEndStage } from './phase-e2e';
import { runPostbackPhase } from './phase-postback';
import { runReportsPhase } from './phase-reports';
import { summarizeProfile } from './profile-summary';
import { renderMarkdown, type BenchResults } from './report';
import { endToEndRates } from './targets';
import { CLICKTRAIL_DB, type WriteSnapshot } from './db-writes';
import { seedFixture } from './seed';
import { PostbackSink } from './sink';

// `npm run bench`: the local stack from compiled JavaScript, clicktrail's API and worker as
// production runs them on the cores production would give them (layout.ts), the engine's ceiling
// (d), the click, postback and end-to-end phases against their baselines, one results file with
// the targets. Everything started here is stopped here, whatever happens.

async function main(): Promise<number> {
  const started = Date.now();
  const args = parseBenchArgs(process.argv.slice(2), path.join(REPO_ROOT, 'bench', 'results'));
  const environment = describeEnvironment();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'clicktrail-bench-'));
  const stops: (() => Promise<void>)[] = [];
  const failures: string[] = [];
  const hotRuns: HotRun[] = [];
  const { layout, note: layoutNote } = planLayout(args.pin, args.enginePriority);
  if (layout) pin(process.pid, layout.serverCpu);
  if (args.profile) mkdirSync(path.join(args.outDir, 'profiles'), { recursive: true });
  console.log(`bench: data in ${dataDir}`);

  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => console.error(`bench: while stopping: ${String(err)}`));
    stops.length = 0;
  };
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      console.error(`bench: ${signal}, stopping everything`);
      void stopAll().then(() => process.exit(130));
    });
  }

  const results: BenchResults = {
    environment,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    args: { ...args, only: [...args.only] },
    layout: layoutNote,
    totalSec: 0,
    hotRuns,
    failures,
  };
  // Every phase but engine-ab: one local stack, clicktrail's worker and API on it.
  const runOnOneStack = async () => {
    const [temporalPort, mongoPort] = [await freePort(), await freePort()];
    console.log(`bench: starting the Temporal dev server and ${environment.engine.name}, bundling the workflows`);
    const [stack, bundle] = await Promise.all([
      startLocalStack({
        temporalPort,
        temporalUiPort: null,
        mongoPort,
        dataDir,
        temporalInMemory: args.temporalInMemory,
        log: (l) => console.log(`bench: ${l}`),
      }),
      bundleWorkflows(),
    ]);
    stops.push(() => stack.stop());
    const bundlePath = path.join(dataDir, 'workflow-bundle.js');
    writeFileSync(bundlePath, (bundle as { code: string }).code);
    const children = childPidsByName();
    // The engine's core: the dev server, FerretDB and PostgreSQL with every thread and backend.
    if (layout) for (const pid of [children.temporal, children.ferretdb, children.postgres]) if (pid) pinTree(pid, layout.engineCpu);
    if (layout && children.temporal) yieldToDatabase(children.temporal, args.enginePriority);

    const mongoUri = stack.mongoUri(CLICKTRAIL_DB);
    await connectDatabase(mongoUri);
    stops.push(() => mongoose.disconnect());
    const connection = await Connection.connect({ address: stack.temporalAddress });
    stops.push(() => connection.close());
    const sink = await new PostbackSink().start();
    stops.push(() => sink.stop());

    const ctx: BenchContext = {
      args,
      dataDir,
      fixture: null as never,
      sink,
      temporal: new Client({ connection }),
      temporalAddress: stack.temporalAddress,
      layout,
      stackPids: { temporal: children.temporal, ferretdb: children.ferretdb, postgres: children.postgres },
      worker: null as never,
      workerMetricsUrl: null,
      clicktrailEnv: {},
      mongoUri: stack.mongoUri,
      failures,
      hotRuns,
      onStop: (stop) => stops.push(stop),
    };
    if (args.only.has('ceiling')) {
      console.log('bench: baseline (d), the engine\'s ceiling');
      results.ceiling = await runCeilingPhase(ctx);
    }
    // End to end around the target (0.7 × (d)) unless rates were given.
    const ceiling = results.ceiling?.sessionsPerSec;
    const rates = args.rates ?? (ceiling ? endToEndRates(ceiling) : [4, 8, 16, 32]);
    const e2eCampaigns = rates.map((_, i) => `e2e${i + 1}`);
    const fixture = await seedFixture(sink.url, ['click', 'postback', ...e2eCampaigns]);
    ctx.fixture = fixture;

    const clicktrailEnv = {
      NODE_ENV: 'production',
      // Plain http on loopback: the production check on PUBLIC_BASE_URL is knowingly waived.
      ALLOW_INSECURE_PUBLIC_URL: 'true',
      LOG_LEVEL: 'warn',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      MONGODB_URI: mongoUri,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_TASK_QUEUE: 'clicktrail-bench',
      BENCH_WORKFLOW_BUNDLE: bundlePath,
      // The postback sink is on loopback, which the outbound policy refuses unless allowed.
      OUTBOUND_ALLOW_NETWORKS: '127.0.0.0/8',
      // The load generator stands in for the load balancer: each visitor's IP comes as X-Forwarded-For.
      TRUSTED_PROXIES: 'loopback',
      SESSION_WORKFLOW_POLICY: args.workflowPolicy,
      ...(args.workerPool === null ? {} : { WORKER_MONGO_POOL_SIZE: String(args.workerPool) }),
      // The reports phase times hundreds of reports a minute with each key: not what the limits are for.
      API_RATE_LIMIT_OPERATOR: '1000000',
      API_RATE_LIMIT_ADVERTISER: '1000000',
      API_RATE_LIMIT_PUBLISHER: '1000000',
    };
    ctx.clicktrailEnv = clicktrailEnv;
    const workerMetricsPort = await freePort();
    ctx.worker = await engineServer(ctx, 'clicktrail worker', serverScript('clicktrail'), { ...clicktrailEnv, ROLE: 'worker', METRICS_PORT: String(workerMetricsPort) });
    ctx.workerMetricsUrl = `http://127.0.0.1:${workerMetricsPort}/metrics`;
    if (layout) yieldToDatabase(ctx.worker.pid, args.enginePriority);

    let api = null;
    if (args.only.has('click')) {
      console.log('bench: click path');
      const click = await runClickPhase(ctx);
      results.click = click.result;
      api = click.api;
    }
    api ??= await startServer(ctx, 'clicktrail API', serverScript('clicktrail'), { ...clicktrailEnv, ROLE: 'api' });
    if (args.only.has('postback')) {
      console.log('bench: postback endpoint');
      results.postback = await runPostbackPhase(ctx, api);
    }
    if (args.only.has('e2e')) {
      results.endToEnd = [];
      let writes: WriteSnapshot | null | undefined;
      for (const [i, rate] of rates.entries()) {
        console.log(`bench: end to end at ${rate}/s`);
        const { writesAfter, ...stage } = await runEndToEndStage(ctx, api, e2eCampaigns[i]!, rate, 10 + i, writes);
        writes = writesAfter;
        results.endToEnd.push(stage);
      }
    }
    if (args.only.has('reports')) {
      console.log(`bench: reports over ${args.reportSessions} sessions`);
      results.reports = await runReportsPhase(ctx, api, args.reportSessions);
    }
    for (const child of [api, ctx.worker]) {
      if (child.logProblems() > 0) console.log(`bench: ${child.name} logged ${child.logProblems()} warnings or errors (see ${dataDir} with --keep-data)`);
    }
  };
  try {
    if (args.only.has('engine-ab')) {
      console.log(`bench: engine A/B, one fresh dev server per setting, baseline (d) at ${2 * args.ceilingRate}/s (2 × --ceiling-rate) on each, ${args.abRounds} rounds`);
      results.engineAb = await runEngineAb({ args, layout, dataDir, rate: 2 * args.ceilingRate, rounds: args.abRounds, onStop: (stop) => stops.push(stop) });
    }
    if ([...args.only].some((p) => p !== 'engine-ab')) await runOnOneStack();
  } catch (err) {
    if (interrupted) return 130;
    failures.push(`the bench itself failed: ${err instanceof Error ? err.message : String(err)}`);
    console.error(err);
  } finally {
    await stopAll();
  }

  results.totalSec = Math.round((Date.now() - started) / 1000);
  mkdirSync(args.outDir, { recursive: true });
  const markdown = renderMarkdown(results);
  writeFileSync(path.join(args.outDir, `${args.name}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(args.outDir, `${args.name}.md`), markdown);
  console.log(`\n${markdown}`);
  console.log(`bench: results in ${path.relative(process.cwd(), path.join(args.outDir, `${args.name}.{json,md}`))}`);
  if (args.profile) {
    const dir = path.join(args.outDir, 'profiles');
    for (const file of readdirSync(dir).filter((f) => f.startsWith(`${args.name}-`) && f.endsWith('.cpuprofile'))) {
      const summary = summarizeProfile(path.join(dir, file));
      writeFileSync(path.join(dir, file.replace(/\.cpuprofile$/, '.txt')), summary);
      console.log(`\nCPU profile ${path.relative(process.cwd(), path.join(dir, file))}:\n${summary}`);
    }
  }
  if (args.keepData || failures.length) console.log(`bench: data (logs of every process) kept in ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });

  if (failures.length) {
    console.error(`\n${'!'.repeat(72)}\nBENCH FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}\n${'!'.repeat(72)}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof UsageError ? err.message : err);
    process.exit(2);
  },
);
