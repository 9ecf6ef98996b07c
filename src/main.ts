import { startApp } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './log';
import { managementMounts } from './http/api/mounts';

// Production entry point: ROLE=api, worker or all, against an existing Temporal and MongoDB.

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const app = await startApp(config, { log, mounts: managementMounts });
  log.info({ role: config.ROLE, http: app.httpUrl, temporal: config.TEMPORAL_ADDRESS }, 'clicktrail started');
  onShutdown(log, () => app.stop());
}

export function onShutdown(log: { info(o: object, m: string): void }, stop: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down: draining HTTP, stopping the worker, closing connections');
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  });
}
