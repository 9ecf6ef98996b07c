import { readFileSync } from 'node:fs';
import { startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { managementMounts } from '../../src/http/api/mounts';
import { createLogger } from '../../src/log';
import { serveProfiler } from './profiler';
import { announceReady, stopOnSignal } from './ready';

// clicktrail as production runs it (ROLE=api or ROLE=worker from the environment), with the
// workflow bundle the bench built once instead of bundling at start.

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const bundlePath = process.env.BENCH_WORKFLOW_BUNDLE;
  const app = await startApp(config, {
    log,
    mounts: managementMounts,
    workflowBundle: bundlePath ? { code: readFileSync(bundlePath, 'utf8') } : undefined,
  });
  serveProfiler();
  announceReady(app.httpUrl);
  stopOnSignal(() => app.stop());
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
