import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { workerTuningOptions } from '../../src/temporal/worker';
import { AdvertiserId, CampaignId, Country, DeviceType, PublisherId, SessionStatus, conversionSignal } from '../../workflows/definitions';
import { summarize } from '../load';
import { announceReady, stopOnSignal } from './ready';

// Baseline (d), the engine's ceiling, in one process on the engine core: a worker for the no-op
// session workflow (bench/ceiling/workflows.ts) and a driver on the same NativeConnection, which
// starts each session eagerly (as a hand-over in the worker process can) and sends its conversion
// with signalWithStart. The bench asks for one stage at a time over IPC: sessions offered at a fixed
// rate, then it waits until every one has been delivered and has completed, or the time is up.

export interface CeilingStage {
  rate: number;
  sessions: number;
  windowMs: number;
  drainTimeoutSec: number;
}

export interface CeilingStageResult extends CeilingStage {
  started: number;
  eager: number;
  signalled: number;
  delivered: number;
  completed: number;
  /** Deliveries per second from the first to the last. */
  sustainedPerSec: number;
  /** Sessions per second from the first start sent to the last delivery: throughput when the stage is over capacity. */
  throughputPerSec: number;
  startMs: ReturnType<typeof summarize>;
  signalMs: ReturnType<typeof summarize>;
  /** Start sent → delivery activity run. */
  deliveryMs: ReturnType<typeof summarize>;
  /** From the last delivery until every session had completed (the window is in it). */
  drainSec: number;
  drained: boolean;
  errors: string[];
}

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is required');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const taskQueue = `ceiling-${randomUUID().slice(0, 8)}`;
  const delivered = new Map<string, number>();
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../ceiling/workflows'), logger: quiet }),
    activities: {
      deliver: async (sessionId: string) => {
        if (!delivered.has(sessionId)) delivered.set(sessionId, performance.now());
      },
    },
    ...workerTuningOptions(loadConfig()),
  });
  const running = worker.run();
  const client = new Client({ connection });

  const runStage = async (stage: CeilingStage): Promise<CeilingStageResult> => {
    const id = `ceiling-${randomUUID().slice(0, 8)}`;
    const r: CeilingStageResult = { ...stage, started: 0, eager: 0, signalled: 0, delivered: 0, completed: 0, sustainedPerSec: 0, throughputPerSec: 0, startMs: summarize([]), signalMs: summarize([]), deliveryMs: summarize([]), drainSec: 0, drained: false, errors: [] };
    const startMs: number[] = [];
    const signalMs: number[] = [];
    const sentAt = new Map<string, number>();
    const options = (workflowId: string) => ({
      workflowId,
      taskQueue,
      args: [{ windowMs: stage.windowMs }] as [{ windowMs: number }],
      workflowIdConflictPolicy: 'USE_EXISTING' as const,
      workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
      typedSearchAttributes: new TypedSearchAttributes([
        { key: CampaignId, value: id },
        { key: AdvertiserId, value: 'adv-ceiling' },
        { key: PublisherId, value: 'pub-ceiling' },
        { key: SessionStatus, value: 'open' },
        { key: Country, value: 'FR' },
        { key: DeviceType, value: 'desktop' },
      ]),
    });
    const session = async (i: number) => {
      const workflowId = `${id}-${i}`;
      try {
        const t0 = performance.now();
        sentAt.set(workflowId, t0);
        const handle = await client.workflow.start('ceilingSession', { ...options(workflowId), requestEagerStart: true });
        startMs.push(performance.now() - t0);
        r.started++;
        if (handle.eagerlyStarted) r.eager++;
        const t1 = performance.now();
        await client.workflow.signalWithStart('ceilingSession', {
          ...options(workflowId),
          signal: conversionSignal,
          signalArgs: [{ requestId: randomUUID(), source: 'postback', event: 'registration', txid: `tx-${workflowId}`, amountMinor: null, amountCurrency: null, status: 'approved', receivedAtMs: Date.now() }],
        });
        signalMs.push(performance.now() - t1);
        r.signalled++;
      } catch (err) {
        if (r.errors.length < 10) r.errors.push(`${workflowId}: ${String(err)}`);
      }
    };
    const t = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < stage.sessions; i++) {
      const wait = t + (i * 1000) / stage.rate - performance.now();
      if (wait > 1) await new Promise((res) => setTimeout(res, wait));
      inFlight.push(session(i));
    }
    await Promise.all(inFlight);

    const ours = () => [...sentAt.keys()].filter((k) => delivered.has(k));
    const countCompleted = async () => (await client.workflow.count(`WorkflowType = "ceilingSession" AND CampaignId = "${id}" AND ExecutionStatus = "Completed"`)).count;
    const deadline = Date.now() + stage.drainTimeoutSec * 1000;
    let lastDelivery = performance.now();
    for (;;) {
      r.delivered = ours().length;
      if (r.delivered >= r.started) {
        r.completed = await countCompleted();
        if (r.completed >= r.started) {
          r.drained = true;
          break;
        }
      }
      if (Date.now() > deadline) {
        r.completed = await countCompleted();
        break;
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    const arrivals = ours().map((k) => delivered.get(k)!);
    if (arrivals.length) lastDelivery = Math.max(...arrivals);
    r.drainSec = Math.round((performance.now() - lastDelivery) / 100) / 10;
    const span = (Math.max(...arrivals) - Math.min(...arrivals)) / 1000;
    r.sustainedPerSec = arrivals.length > 1 && span > 0 ? Math.round(((arrivals.length - 1) / span) * 10) / 10 : 0;
    r.throughputPerSec = arrivals.length ? Math.round((arrivals.length / ((Math.max(...arrivals) - t) / 1000)) * 10) / 10 : 0;
    r.startMs = summarize(startMs);
    r.signalMs = summarize(signalMs);
    r.deliveryMs = summarize(ours().map((k) => delivered.get(k)! - sentAt.get(k)!));
    for (const k of sentAt.keys()) delivered.delete(k);
    return r;
  };

  process.on('message', (m: { stage?: CeilingStage }) => {
    if (!m?.stage) return;
    runStage(m.stage).then(
      (result) => process.send?.({ stageDone: result }),
      (err) => process.send?.({ stageFailed: String(err) }),
    );
  });
  announceReady(null);
  stopOnSignal(async () => {
    worker.shutdown();
    await running;
    await connection.close();
  });
}

const noop = () => undefined;
const quiet = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
