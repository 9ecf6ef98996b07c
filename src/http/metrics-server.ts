import { createServer, type Server } from 'node:http';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';

/**
 * GET /metrics in the Prometheus text format, on a listener of its own: the tracking port is
 * public, and request volumes per outcome are not the visitors' business. Loopback by default.
 */
export function metricsServer(metrics: Metrics, log: Logger): Server {
  return createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' }).end(text),
      (err: unknown) => {
        log.error({ err: String(err) }, 'metrics collection failed');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
}
