import type { AddressInfo } from 'node:net';
import express from 'express';
import { serveProfiler } from './profiler';
import { announceReady, stopOnSignal } from './ready';

// What the baseline servers share: a bare express app, served on a free loopback port the bench
// is told, closed on the bench's signal.

export function baselineApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  return app;
}

/** Serves `app`; on the bench's signal closes the server, then runs `afterClose`. */
export function serve(app: express.Express, afterClose: () => Promise<void> = async () => undefined): void {
  // With --profile the baselines are profiled too, so clicktrail's profile has one to be read against.
  serveProfiler();
  const server = app.listen(0, '127.0.0.1', () => {
    announceReady(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  server.keepAliveTimeout = 65_000;
  stopOnSignal(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await afterClose();
  });
}
