import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { TemporalAuth } from './connection-options';

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
  activities: Activities;
  workflowBundle?: WorkflowBundleOption;
  logLevel: string;
  auth?: TemporalAuth;
}): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntime(opts.logLevel);
  const connection = await NativeConnection.connect({ address: opts.address, ...opts.auth });
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
  return { worker, connection };
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };

let runtimeInstalled = false;
/** The SDK's own logs at WARN at most: its INFO lines (bundler output, state changes) drown ours. */
function installRuntime(level: string): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdkLevel = level === 'trace' ? 'TRACE' : level === 'debug' ? 'DEBUG' : level === 'info' || level === 'warn' ? 'WARN' : 'ERROR';
  try {
    // No shutdownSignals: the app drains HTTP first, then stops the worker itself.
    Runtime.install({ logger: new DefaultLogger(sdkLevel), shutdownSignals: [] });
  } catch {
    // already installed by the embedding process (tests)
  }
}
