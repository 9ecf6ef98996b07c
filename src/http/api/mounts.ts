import express, { Router, type RequestHandler } from 'express';
import { HttpError } from '../http-error';
import type { AppDeps } from '../../app';
import { advertisersRouter } from './advertisers';
import { apiKeysRouter } from './api-keys';
import { DASHBOARD_PREFIX, dashboardRouter } from '../dashboard';
import { assetsRouter } from './assets';
import { browserSessionRouter, signInRoute } from './browser-session';
import { campaignsRouter } from './campaigns';
import { conversionsRouter } from './conversions';
import { deliveriesRouter } from './deliveries';
import { linksRouter } from './links';
import { apiRateLimit } from '../rate-limits';
import { openApiDocument } from './openapi';
import { authenticate } from './principal';
import { providersRouter } from './providers';
import { publishersRouter } from './publishers';
import { reportsRouter } from './reports';
import { sessionsRouter } from './sessions';
import type { Method, RouteDoc } from './route';
import { supportsRouter } from './supports';
import { apiErrors } from './validation';

export const API_PREFIX = '/api/v1';

/** The management API's router and the documentation of every route it holds. */
export function managementApi(deps: AppDeps): { router: Router; routes: RouteDoc[]; document: Record<string, unknown> } {
  const routes: RouteDoc[] = [];
  const signIn = signInRoute(routes, deps.config);
  const resources = [
    browserSessionRouter(routes, deps.config),
    apiKeysRouter(routes),
    advertisersRouter(routes, deps),
    campaignsRouter(routes, deps),
    assetsRouter(routes, deps),
    publishersRouter(routes, deps),
    supportsRouter(routes, deps),
    providersRouter(routes, deps),
    linksRouter(routes, deps),
    sessionsRouter(routes, deps),
    conversionsRouter(routes, deps),
    deliveriesRouter(routes, deps),
    reportsRouter(routes, deps),
  ];
  routes.push({ method: 'get', path: '/openapi.json', tag: 'meta', summary: 'This document', kinds: [], status: 200, public: true, response: { type: 'object', required: ['openapi', 'paths'] } });
  const document = openApiDocument(routes, `${deps.config.PUBLIC_BASE_URL.replace(/\/$/, '')}${API_PREFIX}`);

  const methods = new Map<string, Method[]>();
  for (const r of routes) methods.set(r.path, [...(methods.get(r.path) ?? []), r.method]);
  const router = Router();
  // Before authentication, as a CORS preflight would be: what each documented path takes.
  for (const [path, allowed] of methods) router.options(path, (_req, res) => void res.set('Allow', allowHeader(allowed)).status(204).end());
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.post('/session', ...signIn);
  router.all('/openapi.json', methodNotAllowed(['get']));
  const { config } = deps;
  const limits = { operator: config.API_RATE_LIMIT_OPERATOR, advertiser: config.API_RATE_LIMIT_ADVERTISER, publisher: config.API_RATE_LIMIT_PUBLISHER };
  router.use(authenticate(), apiRateLimit({ windowMs: config.API_RATE_LIMIT_WINDOW_MS, limits }), express.json({ limit: '64kb' }));
  for (const r of resources) router.use(r);
  for (const [path, allowed] of methods) if (path !== '/openapi.json') router.all(path, methodNotAllowed(allowed));
  router.use(apiErrors);
  return { router, routes, document };
}

/** express answers HEAD wherever it answers GET. */
function allowHeader(allowed: Method[]): string {
  return [...new Set(allowed.flatMap((m) => (m === 'get' ? ['GET', 'HEAD'] : [m.toUpperCase()])))].sort().join(', ');
}

/** A documented path asked with a method it does not have: 405 with the ones it has (a 404 would say the path does not exist). */
function methodNotAllowed(allowed: Method[]): RequestHandler {
  const list = allowHeader(allowed);
  return (req, res) => {
    res.set('Allow', list);
    throw new HttpError(405, `${req.method} is not allowed here; this path takes ${list}`);
  };
}

/** The management and reporting API under /api/v1, and the dashboard that uses it under /app. */
export function managementMounts(deps: AppDeps): [string, Router][] {
  return [
    [API_PREFIX, managementApi(deps).router],
    [DASHBOARD_PREFIX, dashboardRouter()],
  ];
}
