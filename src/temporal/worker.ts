import { Client } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkerOptions, type WorkflowBundleOption } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { Config } from '../config';
import type { Logger } from '../log';
import type { TemporalAuth } from './connection-options';
import { installRuntime } from './runtime';

export const WORKFLOWS_PATH = require.resolve('../../workflows');

/** Bundles the workflow code once (webpack); tests and the bench reuse one bundle across workers. */
export async function bundleWorkflows(): Promise<WorkflowBundleOption> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  return { code };
}

export async function createWorker(opts: {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Built with a client on the worker's own connection (activities start workflows with it). */
  activities: (client: Client) => Activities;
  workflowBundle?: WorkflowBundleOption;
  log: Logger;
  logLevel: string;
  /** host:port for the SDK's Prometheus metrics; none when undefined. */
  metricsBindAddress?: string;
  auth?: TemporalAuth;
  tuning?: WorkerTuning;
}): Promise<{ worker: Worker; connection: NativeConnection; client: Client }> {
  installRuntime({ log: opts.log, level: opts.logLevel, metricsBindAddress: opts.metricsBindAddress });
  const connection = await NativeConnection.connect({ address: opts.address, ...opts.auth });
  // The same NativeConnection object as the worker's: what makes eager workflow start possible.
  const client = new Client({ connection, namespace: opts.namespace });
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities(client),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    ...(opts.tuning ? workerTuningOptions(opts.tuning) : {}),
  });
  return { worker, connection, client };
}

export type WorkerTuning = Pick<Config, 'WORKER_MAX_CACHED_WORKFLOWS' | 'WORKER_WORKFLOW_POLLERS' | 'WORKER_NON_STICKY_POLL_RATIO'>;

/** The worker options the configuration sets; what it leaves unset stays the SDK's default. */
export function workerTuningOptions(t: WorkerTuning): Partial<WorkerOptions> {
  const pollers = t.WORKER_WORKFLOW_POLLERS;
  return {
    ...(t.WORKER_MAX_CACHED_WORKFLOWS === undefined ? {} : { maxCachedWorkflows: t.WORKER_MAX_CACHED_WORKFLOWS }),
    ...(pollers === undefined ? {} : { workflowTaskPollerBehavior: pollers === 'autoscaling' ? { type: 'autoscaling' } : { type: 'simple-maximum', maximum: pollers } }),
    ...(t.WORKER_NON_STICKY_POLL_RATIO === undefined ? {} : { nonStickyToStickyPollRatio: t.WORKER_NON_STICKY_POLL_RATIO }),
  };
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };

