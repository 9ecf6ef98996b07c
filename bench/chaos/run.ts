import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import mongoose from 'mongoose';
import { REPO_ROOT, freePort, startLocalStack } from '../../src/local-stack/local-stack';
import { connectDatabase } from '../../src/persistence/database';
import { conversions } from '../../src/persistence/models/conversion';
import { deliveries } from '../../src/persistence/models/delivery';
import { inbounds } from '../../src/persistence/models/inbound';
import { Publisher } from '../../src/persistence/models/publisher';
import { sessions } from '../../src/persistence/models/session';
import { bundleWorkflows } from '../../src/temporal/worker';
import { startChild, type ServerChild } from '../children';
import { clickPath, seedFixture, type BenchFixture } from '../seed';
import { SCENARIOS, heal, type FaultTargets, type Scenario } from './faults';
import { imbalances, type Ledger } from './ledger';
import { percentile, runLoad, type LoadResult } from './load';
import { PublisherSink } from './publisher-sink';
import { renderChaosMarkdown, type ScenarioResult } from './report';

// `npm run chaos [-- --only <scenario>]`: the real local stack (Temporal dev server with a state
// file, the database engine), clicktrail's API and worker as processes of their own, a steady
// click and postback load, and one fault scenario after another. Each scenario's books are read
// back once the fault is healed and everything has drained; any imbalance makes the run exit 1.
// Loopback only; everything started here is stopped here.

const CLICKS_PER_SEC = 6;
const LOAD_SEC = 30;
const POSTBACK_EVERY = 3;
const DRAIN_TIMEOUT_SEC = 180;

// Short delivery retries so that a publisher outage drains in seconds, not hours.
const CLICKTRAIL_ENV = {
  NODE_ENV: 'production',
  // Loopback over http: the run has no TLS front.
  ALLOW_INSECURE_PUBLIC_URL: 'true',
  LOG_LEVEL: 'warn',
  HTTP_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  TEMPORAL_TASK_QUEUE: 'clicktrail-chaos',
  DELIVERY_RETRY_INITIAL_MS: '500',
  DELIVERY_RETRY_MAX_MS: '2000',
  DELIVERY_MAX_ATTEMPTS: '200',
  DELIVERY_TIMEOUT_MS: '2000',
  OUTBOUND_ALLOW_NETWORKS: '127.0.0.0/8',
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { only: { type: 'string', multiple: true }, out: { type: 'string' }, name: { type: 'string' }, 'keep-data': { type: 'boolean' } },
  });
  const only = (values.only ?? []).flatMap((v) => v.split(','));
  const unknown = only.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    console.error(`chaos: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const selected = only.length ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
  const outDir = values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'chaos');
  const name = values.name ?? (only.length ? only.join('+') : 'latest');
  const started = Date.now();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ct-chaos-'));
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => console.error(`chaos: while stopping: ${String(err)}`));
    stops.length = 0;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stopAll().then(() => process.exit(130)));
  }
  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  console.log(`chaos: data in ${dataDir}`);
  try {
    const stack = await startLocalStack({
      temporalPort: await freePort(),
      temporalUiPort: null,
      mongoPort: await freePort(),
      dataDir,
      temporalInMemory: false,
      log: (l) => console.log(`chaos: ${l}`),
    });
    stops.push(async () => {
      for (const p of stack.processes()) process.kill(p.pid, 'SIGCONT');
      await stack.stop();
    });
    const bundlePath = path.join(dataDir, 'workflow-bundle.js');
    writeFileSync(bundlePath, ((await bundleWorkflows()) as { code: string }).code);
    const mongoUri = stack.mongoUri('clicktrail_chaos');
    await connectDatabase(mongoUri);
    stops.push(() => mongoose.disconnect());
    const connection = await Connection.connect({ address: stack.temporalAddress });
    stops.push(() => connection.close());
    const temporal = new Client({ connection });
    const sink = await new PublisherSink().start();
    stops.push(() => sink.stop());
    const fixture = await seedFixture(sink.url, selected.map((s) => s.name));
    // The conversion id and status in every publisher postback: what "paid twice" is counted on.
    await Publisher.updateOne(
      { _id: fixture.publisherId },
      { $set: { postbackUrl: `${sink.url}/publisher/${fixture.publisherId}?cid={click_id}&cmp={campaign_id}&conv={conversion_id}&status={status}&txid={txid}` } },
    );

    const env = { ...CLICKTRAIL_ENV, MONGODB_URI: mongoUri, TEMPORAL_ADDRESS: stack.temporalAddress, BENCH_WORKFLOW_BUNDLE: bundlePath };
    const startClicktrail = async (role: 'api' | 'worker'): Promise<ServerChild> => {
      const child = await startChild({
        name: `clicktrail ${role}`,
        script: path.join(__dirname, '..', 'servers', 'clicktrail.ts'),
        execArgv: ['--import', 'tsx'],
        env: { ...env, ROLE: role },
        logFile: path.join(dataDir, `clicktrail-${role}.log`),
      });
      stops.push(() => child.stop());
      return child;
    };
    let worker = await startClicktrail('worker');
    const api = await startClicktrail('api');
    let timeline: string[] = [];
    let scenarioStart = 0;
    const targets: FaultTargets = {
      stack,
      sink,
      worker: () => worker,
      restartWorker: async () => {
        worker = await startClicktrail('worker');
      },
      log: (line) => {
        const entry = `${((Date.now() - scenarioStart) / 1000).toFixed(1)} s: ${line}`;
        timeline.push(entry);
        console.log(`chaos:   ${entry}`);
      },
    };

    for (const scenario of selected) {
      console.log(`chaos: scenario ${scenario.name}: ${scenario.what}`);
      timeline = [];
      sink.resetAnswered();
      scenarioStart = Date.now();
      const result = await runScenario(scenario, { fixture, api: api.url!, targets, temporal, sink });
      result.timeline = timeline;
      results.push(result);
      const verdict = result.imbalances.length ? `IMBALANCED: ${result.imbalances.join('; ')}` : 'balanced';
      console.log(`chaos: ${scenario.name}: ${verdict}\n${JSON.stringify(result.ledger)}`);
      for (const i of result.imbalances) failures.push(`${scenario.name}: ${i}`);
    }
  } catch (err) {
    failures.push(`the chaos run itself failed: ${err instanceof Error ? err.message : String(err)}`);
    console.error(err);
  } finally {
    await stopAll();
  }

  const run = { command: `npm run chaos${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`, at: new Date().toISOString(), totalSec: Math.round((Date.now() - started) / 1000), settings: { CLICKS_PER_SEC, LOAD_SEC, POSTBACK_EVERY, DRAIN_TIMEOUT_SEC, env: CLICKTRAIL_ENV }, scenarios: results, failures };
  mkdirSync(outDir, { recursive: true });
  const markdown = renderChaosMarkdown(run);
  writeFileSync(path.join(outDir, `${name}.json`), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(path.join(outDir, `${name}.md`), markdown);
  console.log(`\n${markdown}`);
  if (values['keep-data'] || failures.length) console.log(`chaos: data (logs of every process) kept in ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
  if (failures.length) {
    console.error(`\nCHAOS FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    return 1;
  }
  return 0;
}

interface ScenarioDeps {
  fixture: BenchFixture;
  api: string;
  targets: FaultTargets;
  temporal: Client;
  sink: PublisherSink;
}

async function runScenario(s: Scenario, d: ScenarioDeps): Promise<ScenarioResult> {
  const campaignId = d.fixture.campaigns[s.name]!.campaignId;
  const load = runLoad({
    apiUrl: d.api,
    clickPath: (i) => clickPath(d.fixture, s.name, `${s.name}-${i}`),
    token: d.fixture.token,
    txidPrefix: s.name,
    clicks: CLICKS_PER_SEC * LOAD_SEC,
    clicksPerSec: CLICKS_PER_SEC,
    postbackEvery: POSTBACK_EVERY,
    postbackRetryMs: 60_000,
  });
  try {
    for (const step of s.steps) {
      await new Promise((r) => setTimeout(r, step.afterSec * 1000));
      await step.run(d.targets);
    }
  } finally {
    await heal(d.targets);
  }
  const traffic = await load;
  d.targets.log(`load done: ${traffic.sessionIds.length} clicks answered, ${traffic.accepted.length} postbacks accepted`);
  const drainStart = Date.now();
  let ledger = await readLedger(d, campaignId, traffic);
  let reported = drainStart;
  // Duplicates at the sink never go away: once they are all that is left, draining longer is pointless.
  while (imbalances({ ...ledger, sinkDuplicates: 0 }).length && Date.now() - drainStart < DRAIN_TIMEOUT_SEC * 1000) {
    await new Promise((r) => setTimeout(r, 2000));
    ledger = await readLedger(d, campaignId, traffic);
    if (Date.now() - reported > 30_000) {
      reported = Date.now();
      d.targets.log(`draining: ${imbalances(ledger).join('; ')}`);
    }
  }
  const lat = traffic.clickLatencyMs;
  return {
    name: s.name,
    what: s.what,
    ledger,
    imbalances: imbalances(ledger),
    drainedSec: Math.round((Date.now() - drainStart) / 100) / 10,
    clickLatencyMs: { p50: Math.round(percentile(lat, 50)), p99: Math.round(percentile(lat, 99)), max: Math.round(Math.max(0, ...lat)), over2s: lat.filter((v) => v > 2000).length, over5s: lat.filter((v) => v > 5000).length },
    postbacks: { duplicateAnswers: traffic.duplicates, refused: traffic.refused, retries: traffic.retries },
    clickFailures: traffic.clickFailures,
    sinkAnswers: { ...d.sink.answered },
    timeline: [],
  };
}

async function readLedger(d: ScenarioDeps, campaignId: string, load: LoadResult): Promise<Ledger> {
  const [sessionsStored, sessionsInCampaign, workflows, conversionIds, decided] = await Promise.all([
    sessions().countDocuments({ _id: { $in: load.sessionIds } }),
    sessions().countDocuments({ campaignId }),
    d.temporal.workflow.count(`WorkflowType = "sessionWorkflow" AND CampaignId = "${campaignId}"`),
    conversions()
      .find({ campaignId }, { projection: { _id: 1 } })
      .map((c) => c._id)
      .toArray(),
    inbounds()
      .find({ _id: { $in: load.accepted }, decision: { $exists: true } }, { projection: { decision: 1 } })
      .toArray(),
  ]);
  const delivered = conversionIds.length ? await deliveries().distinct('deliveryId', { conversionId: { $in: conversionIds }, outcome: 'delivered' }) : [];
  const sink = d.sink.received(campaignId);
  return {
    clicksAnswered: load.sessionIds.length,
    clicksFailed: load.clicksFailed,
    sessionsStored,
    sessionsInCampaign,
    workflowsStarted: workflows.count,
    postbacksAccepted: load.accepted.length,
    postbacksGivenUp: load.givenUp,
    postbacksRefused: Object.values(load.refused).reduce((n, k) => n + k, 0),
    conversionsRecorded: conversionIds.length,
    rejectedWithReason: decided.filter((i) => i.decision && !['recorded', 'updated'].includes(i.decision.outcome) && i.decision.reason).length,
    undecided: load.accepted.length - decided.length,
    deliveriesDelivered: delivered.length,
    sinkReceived: sink.distinct,
    sinkDuplicates: sink.duplicates,
  };
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
