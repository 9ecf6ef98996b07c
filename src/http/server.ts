import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import type { Metrics } from '../metrics';
import { DatabaseUnavailable } from '../persistence/operation-budget';
import { HttpError, errorBody } from './http-error';
import type { HotPathLoad } from './hot-path-load';
import type { Readiness } from './readiness';
import { redactUrl } from './redact';
import { requestContext } from './request-context';
import { clickRoute, type ClickDeps } from './routes/click';
import { demoLandingRoute, demoSinkRoute } from './routes/demo-landing';
import { pixelRoute } from './routes/pixel';
import { postbackRoute } from './routes/postback';
import { postbackStatusRoute } from './routes/postback-status';
import { trackerScriptRoute } from './routes/tracker-script';

export interface HttpDeps extends ClickDeps {
  trustedProxies: string[];
  /** Further routers (the management API) mounted by path. */
  mounts?: [string, Router][];
  /** The /demo pages exist only when the demo runs (`npm start`). */
  demoRoutes: boolean;
  /** Runs before /postback: answers 429 to an IP with too many failed tokens. */
  postbackGuard?: RequestHandler;
  metrics: Metrics;
  /** What /readyz checks (MongoDB, Temporal). */
  readiness: Readiness;
  /** Where the hot paths' answer times go, to tell the hand-over when to yield. */
  hotPath?: HotPathLoad;
}

export function createHttpApp(d: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // X-Forwarded-For is believed only from the configured proxies.
  app.set('trust proxy', d.trustedProxies.length > 0 ? d.trustedProxies : false);
  // No answer (the 404 text echoing a path included) may be sniffed into something executable.
  app.use((_req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(requestContext(d.log, d.metrics, d.hotPath));

  // Liveness: the process answers. Readiness: its dependencies answer too (load balancers, probes).
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const r = await d.readiness.check();
    res.status(r.ready ? 200 : 503).set('Cache-Control', 'no-store').json(r.body);
  });
  app.get('/c/:campaignId', clickRoute(d));
  app.get('/px.gif', pixelRoute(d, 'gif'));
  app.get('/px.html', pixelRoute(d, 'html'));
  app.get('/t.js', trackerScriptRoute());
  app.get('/postback/status', postbackStatusRoute(d));
  const body = [express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 100 }), express.json({ limit: '16kb' })];
  const guard = d.postbackGuard ?? ((_req, _res, next) => next());
  app.get('/postback', guard, postbackRoute(d));
  app.post('/postback', guard, ...body, postbackRoute(d));
  app.all('/postback', (_req, res) => {
    res.status(405).set('Allow', 'GET, POST').json(errorBody('use GET or POST'));
  });
  if (d.demoRoutes) {
    app.get(['/demo/landing', '/demo/thanks'], demoLandingRoute());
    app.get('/demo/sink/:who', demoSinkRoute(d.log));
  }
  for (const [path, router] of d.mounts ?? []) app.use(path, router);

  app.use((req, res) => {
    res.status(404).json(errorBody(`no route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(d.metrics));
  return app;
}

/** The one error middleware: client errors keep their status and say why; the rest is a logged 500. */
function errorHandler(metrics: Metrics): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (err instanceof DatabaseUnavailable) {
      // A cold configuration lookup during a database outage: nothing to redirect to yet.
      metrics.dependencyError(err, 'http_request');
      res.locals.log.warn({ err: err.message, method: req.method, url: redactUrl(req.originalUrl).slice(0, 512) }, 'database unavailable');
      if (!res.headersSent) res.status(503).set('Retry-After', '5').json(errorBody('temporarily unavailable: the database did not answer; retry later'));
      return;
    }
    const status = err instanceof HttpError ? err.status : Number(err?.status ?? err?.statusCode);
    if (status >= 400 && status < 500) {
      const message = err instanceof HttpError || err?.expose ? String(err.message) : 'bad request';
      if (!res.headersSent) res.status(status).json({ ...errorBody(message), ...(err instanceof HttpError && err.details ? { details: err.details } : {}) });
      return;
    }
    metrics.dependencyError(err, 'http_request');
    res.locals.log.error({ err, method: req.method, url: redactUrl(req.originalUrl).slice(0, 512) }, 'request failed');
    if (!res.headersSent) res.status(500).json(errorBody('internal error'));
    else res.destroy();
  };
}
