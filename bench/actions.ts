import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';
import mongoose from 'mongoose';
import { v7 as uuidv7 } from 'uuid';
import { createActivities, firstAttemptsOf } from '../activities';
import { loadConfig } from '../src/config';
import type { ConversionRequest } from '../src/domain/attribution-rules';
import type { DeliveryPolicy, SessionSnapshot } from '../src/domain/session';
import { createLogger } from '../src/log';
import { REPO_ROOT, freePort, startLocalStack } from '../src/local-stack/local-stack';
import { OutboundPolicy } from '../src/outbound/address-policy';
import { OutboundClient } from '../src/outbound/outbound-client';
import { ConfigCache } from '../src/persistence/config-cache';
import { connectDatabase } from '../src/persistence/database';
import { deliveries } from '../src/persistence/models/delivery';
import { sessionRecord, sessions } from '../src/persistence/models/session';
import { WORKFLOWS_PATH, createWorker } from '../src/temporal/worker';
import { describeIfExists } from '../src/temporal/workflow-exists';
import { AdvertiserId, CampaignId, Country, DeviceType, PublisherId, SessionStatus, conversionSignal } from '../workflows/definitions';
import { seedFixture, type BenchFixture } from './seed';
import { PostbackSink } from './sink';

// `npm run bench:actions`: Temporal work per session, counted from the histories of real sessions
// on the local stack: N sessions without a conversion and N with one (conversion, publisher
// postback delivered to a local sink), run by the workflow code of a baseline commit and by the
// current code, in one run. Each mode has its own task queue and worker (the same activities).
// Sessions are started the way each design starts them: the baseline's workflow stores the session
// itself (as the click path's start did); the current one is told it is stored (`sessionStored`,
// as the hand-over does). Both are started by a plain client start (not eager), so the counts differ
// by the workflow code only.

const ACTION_RULES = [
  'Temporal Cloud Actions, counted from each history by the rules of docs/evaluate/cloud/actions.mdx (review §4):',
  'workflow started 1 (search attributes at start free); signal 1; timer started 1 (a `condition` with a timeout included);',
  'UpsertSearchAttributes 1 per command; child workflow 2 (its initiation in the parent, its start in the child);',
  'activity 1 per attempt; local activities 1 per workflow task that runs any; signal external 1;',
  'workflow tasks and completion 0. Not counted: workflow-task heartbeats (1 each; sent only while local activities run past ~8 s of a task).',
].join('\n');

interface Counts {
  started: number;
  signals: number;
  localActivityTasks: number;
  timers: number;
  upserts: number;
  childInitiated: number;
  activityAttempts: number;
  signalExternal: number;
  workflowTasks: number;
  events: number;
  workflows: number;
  transitions: number;
}

const zero = (): Counts => ({ started: 0, signals: 0, localActivityTasks: 0, timers: 0, upserts: 0, childInitiated: 0, activityAttempts: 0, signalExternal: 0, workflowTasks: 0, events: 0, workflows: 0, transitions: 0 });
const actionsOf = (c: Counts) => c.started + c.signals + c.localActivityTasks + c.timers + c.upserts + c.childInitiated + c.activityAttempts + c.signalExternal;

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

function countHistory(history: History, into: Counts): void {
  const events = history.events ?? [];
  const laTasks = new Set<string>();
  into.workflows++;
  into.events += events.length;
  for (const e of events) {
    if (e.workflowExecutionStartedEventAttributes) into.started++;
    if (e.workflowExecutionSignaledEventAttributes) into.signals++;
    if (e.timerStartedEventAttributes) into.timers++;
    if (e.upsertWorkflowSearchAttributesEventAttributes) into.upserts++;
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) into.childInitiated++;
    if (e.signalExternalWorkflowExecutionInitiatedEventAttributes) into.signalExternal++;
    if (e.activityTaskStartedEventAttributes) into.activityAttempts += e.activityTaskStartedEventAttributes.attempt ?? 1;
    if (e.workflowTaskCompletedEventAttributes) into.workflowTasks++;
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') laTasks.add(String(marker.workflowTaskCompletedEventId));
  }
  into.localActivityTasks += laTasks.size;
}

/** A closed workflow's history and the state transitions the server counted for it. */
async function countWorkflow(client: Client, workflowId: string, into: Counts): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  await handle.result();
  countHistory(await handle.fetchHistory(), into);
  const described = await client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId } });
  into.transitions += Number(described.workflowExecutionInfo?.stateTransitionCount ?? 0);
}

/** The dev server's Prometheus endpoint: whichever of its listening ports answers /metrics. */
async function findServerMetrics(pid: number): Promise<string | null> {
  let listing = '';
  try {
    listing = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  } catch {
    return null;
  }
  const ports = listing
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => /:(\d+)\s/.exec(l)?.[1])
    .filter((p): p is string => !!p);
  for (const port of ports) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok && (await res.text()).includes('# TYPE')) return `http://127.0.0.1:${port}/metrics`;
    } catch {
      // a gRPC port
    }
  }
  return null;
}

/** Sum of a metric's samples (a counter, or a histogram's _sum) in the Prometheus text. */
function metricSum(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return total;
}

async function serverActions(url: string | null): Promise<number | null> {
  if (!url) return null;
  return metricSum(await (await fetch(url)).text(), 'action');
}

const quiet = { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: console.warn, error: console.error, log: () => undefined };

/** The baseline's workflow code, bundled from git: its workflows/ and the src/domain/ they import. */
async function bundleAt(rev: string, dir: string): Promise<WorkflowBundleOption> {
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync('git', ['-C', REPO_ROOT, 'archive', rev, 'workflows', 'src/domain']);
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(dir, 'workflows'), logger: quiet });
  return { code };
}

interface Mode {
  name: string;
  taskQueue: string;
  bundle: WorkflowBundleOption;
  sessionStored: boolean;
}

interface Row {
  mode: string;
  conversion: boolean;
  sessions: number;
  counts: Counts;
  /** The dev server's own `action` counter over the row's sessions. */
  serverActions: number | null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '10' },
      before: { type: 'string', default: 'b5c0bb2' },
      'window-ms': { type: 'string', default: '10000' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'actions.md') },
    },
  });
  const n = Number(values.sessions);
  const windowMs = Number(values['window-ms']);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error('--sessions: an integer from 1 to 1000');
  if (!Number.isInteger(windowMs) || windowMs < 1000) throw new Error('--window-ms: an integer of at least 1000');
  const baseline = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', values.before], { encoding: 'utf8' }).trim();
  const current = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['-C', REPO_ROOT, 'status', '--porcelain', 'workflows', 'activities'], { encoding: 'utf8' }).trim() !== '';

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'clicktrail-actions-'));
  const stops: (() => Promise<void>)[] = [];
  const log = createLogger('warn');
  try {
    const stack = await startLocalStack({ temporalPort: await freePort(), temporalUiPort: null, mongoPort: await freePort(), dataDir, log: (l) => console.log(`actions: ${l}`) });
    stops.push(() => stack.stop());
    await connectDatabase(stack.mongoUri('clicktrail_actions'));
    stops.push(() => mongoose.disconnect());
    const sink = await new PostbackSink().start();
    stops.push(() => sink.stop());
    const fixture = await seedFixture(sink.url, ['actions']);
    const metricsUrl = await findServerMetrics(stack.processes().find((p) => p.name === 'temporal')!.pid);

    console.log(`actions: bundling the workflows of ${baseline} and of the working tree`);
    const [before, after] = await Promise.all([
      bundleAt(baseline, path.join(dataDir, 'baseline')),
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet }).then(({ code }) => ({ code })),
    ]);
    const modes: Mode[] = [
      { name: `before (${baseline})`, taskQueue: 'actions-before', bundle: before, sessionStored: false },
      { name: `after (${current}${dirty ? '+changes' : ''})`, taskQueue: 'actions-after', bundle: after, sessionStored: true },
    ];
    const outbound = new OutboundClient(new OutboundPolicy({ hosts: [], networks: ['127.0.0.0/8'] }));
    stops.push(() => outbound.close());
    const cache = new ConfigCache(1_000);
    for (const mode of modes) {
      const { worker, connection } = await createWorker({
        address: stack.temporalAddress,
        namespace: 'default',
        taskQueue: mode.taskQueue,
        activities: (temporal) => createActivities({ cache, log, outbound, temporal, firstAttempts: firstAttemptsOf(loadConfig({})) }),
        workflowBundle: mode.bundle,
        log,
        logLevel: 'warn',
      });
      const running = worker.run();
      stops.push(async () => {
        worker.shutdown();
        await running;
        await connection.close();
      });
    }
    const connection = await Connection.connect({ address: stack.temporalAddress });
    stops.push(() => connection.close());
    const client = new Client({ connection });

    const rows: Row[] = [];
    for (const mode of modes) {
      for (const conversion of [false, true]) {
        console.log(`actions: ${mode.name}, ${n} sessions ${conversion ? 'with a conversion' : 'without conversion'}`);
        const before = await serverActions(metricsUrl);
        const counts = await runSessions(client, fixture, mode, n, conversion, windowMs);
        const after = await serverActions(metricsUrl);
        rows.push({ mode: mode.name, conversion, sessions: n, counts, serverActions: before !== null && after !== null ? after - before : null });
      }
    }
    const markdown = render(rows, { n, windowMs, metricsUrl, command: `npm run bench:actions -- ${process.argv.slice(2).join(' ')}`.trim() });
    mkdirSync(path.dirname(values.out), { recursive: true });
    writeFileSync(values.out, markdown);
    writeFileSync(values.out.replace(/\.md$/, '.json'), `${JSON.stringify(rows, null, 2)}\n`);
    console.log(`\n${markdown}\nactions: written to ${path.relative(process.cwd(), values.out)}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err) => console.error(`actions: while stopping: ${String(err)}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runSessions(client: Client, f: BenchFixture, mode: Mode, n: number, conversion: boolean, windowMs: number): Promise<Counts> {
  const rules = new ConfigCache(60_000);
  const { campaignId } = f.campaigns.actions!;
  const policy: DeliveryPolicy = { initialIntervalMs: 500, maximumIntervalMs: 2_000, maximumAttempts: 5, timeoutMs: 2_000 };
  const ids = await Promise.all(
    Array.from({ length: n }, async () => {
      const now = Date.now();
      const session: SessionSnapshot = {
        sessionId: uuidv7({ msecs: now }), advertiserId: f.advertiserId, campaignId, assetId: null, publisherId: f.publisherId, supportId: f.supportId,
        ip: '203.0.113.9', country: 'FR', device: { type: 'desktop', os: null, browser: null, vendor: null, model: null }, userAgent: null,
        publisherData: {}, referrer: null, providers: { campaign: null, publisher: null, business: null }, bot: false, duplicate: false,
        createdAtMs: now, expiresAtMs: now + windowMs,
      };
      // The click stored the session first in both designs.
      await sessions().insertOne(sessionRecord(session, mode.sessionStored));
      const options = {
        workflowId: session.sessionId,
        taskQueue: mode.taskQueue,
        args: [{ session, delivery: policy, closeGraceMs: 0, decisionWithConversion: true, ...(mode.sessionStored ? { sessionStored: true } : {}) }],
        typedSearchAttributes: new TypedSearchAttributes([
          { key: CampaignId, value: campaignId },
          { key: AdvertiserId, value: f.advertiserId },
          { key: PublisherId, value: f.publisherId },
          { key: SessionStatus, value: 'open' },
          { key: Country, value: 'FR' },
          { key: DeviceType, value: 'desktop' },
        ]),
      };
      const handle = await client.workflow.start('sessionWorkflow', options);
      if (conversion) {
        // A conversion comes after the click's first workflow task, as a real one does: one that
        // lands in that task would be handled before the window's timer starts, and cost less.
        const deadline = Date.now() + 60_000;
        while (!(await handle.fetchHistory()).events?.some((e) => e.workflowTaskCompletedEventAttributes)) {
          if (Date.now() > deadline) throw new Error(`session ${session.sessionId}: no workflow task completed within a minute`);
          await new Promise((r) => setTimeout(r, 100));
        }
        // With the campaign's event rules, as the hand-over sends it (code before them ignores the field).
        const request: ConversionRequest = {
          requestId: uuidv7(), source: 'postback', event: 'registration', txid: `tx-${session.sessionId}`, amountMinor: null,
          amountCurrency: null, status: 'approved', receivedAtMs: Date.now(), eventRules: await rules.eventRules(campaignId),
        };
        await client.workflow.signalWithStart('sessionWorkflow', { ...options, signal: conversionSignal, signalArgs: [request] });
      }
      return session.sessionId;
    }),
  );
  const counts = zero();
  for (const id of ids) await countWorkflow(client, id, counts);
  if (conversion) {
    // One publisher postback per conversion: wait until each was delivered and its workflow closed.
    const deadline = Date.now() + 120_000;
    let deliveryIds: string[] = [];
    while (deliveryIds.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${deliveryIds.length} of ${n} deliveries within 2 minutes`);
      deliveryIds = await deliveries().distinct('deliveryId', { sessionId: { $in: ids }, outcome: 'delivered' });
      if (deliveryIds.length < n) await new Promise((r) => setTimeout(r, 200));
    }
    // A postback delivered at its first attempt was sent by the session's own step: it has no workflow.
    for (const id of deliveryIds) if (await describeIfExists(client, id)) await countWorkflow(client, id, counts);
  }
  return counts;
}

function render(rows: Row[], o: { n: number; windowMs: number; metricsUrl: string | null; command: string }): string {
  const per = (v: number) => (v / o.n).toFixed(2).replace(/\.00$/, '');
  const lines = [
    '# Temporal work per session',
    '',
    `\`${o.command}\` on ${new Date().toISOString().slice(0, 10)}: ${o.n} sessions per row, attribution window ${o.windowMs} ms, no grace;`,
    'a conversion is one approved `registration` postback signal, sent once the session\'s first workflow task has completed, notified to the publisher (one delivery: a workflow of its own in code that starts one, none where the session\'s step delivers it at once).',
    'Per session: the session workflow plus its delivery workflows, if any.',
    '',
    ACTION_RULES,
    '',
    '| workflow code | conversion | **Actions** | start | signal | local-activity tasks | timers | upserts | child initiations | activity attempts | workflow tasks | history events | state transitions | workflows | server `action` metric |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const c = r.counts;
      return `| ${r.mode} | ${r.conversion ? 'yes' : 'no'} | **${per(actionsOf(c))}** | ${per(c.started)} | ${per(c.signals)} | ${per(c.localActivityTasks)} | ${per(c.timers)} | ${per(c.upserts)} | ${per(c.childInitiated)} | ${per(c.activityAttempts)} | ${per(c.workflowTasks)} | ${per(c.events)} | ${per(c.transitions)} | ${per(c.workflows)} | ${r.serverActions === null ? 'n/a' : per(r.serverActions)} |`;
    }),
    '',
    'State transitions: `stateTransitionCount` of each workflow as the server describes it once closed (each is one write of its mutable state).',
    o.metricsUrl
      ? 'Server `action` metric: the dev server\'s own counter (/metrics), its delta over each row divided by the sessions. It is the server\'s estimate (its frontend telemetry: API starts and signals, each command a workflow task completes, one per workflow task with any marker, patch markers included, activity retries), not the billing rules above; the Actions column is the one to price.'
      : 'Server `action` metric: the dev server\'s /metrics was not found (`ss` missing or no port answered).',
    '',
  ];
  return lines.join('\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
