import { Client } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';
import type { Activities } from '../../activities';
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
  });
  return { worker, connection, client };
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };

