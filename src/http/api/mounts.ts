import express, { Router } from 'express';
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
import type { RouteDoc } from './route';
import { supportsRouter } from './supports';
import { apiErrors } from './validation';

export const API_PREFIX = '/api/v1';

/** The management API's router and the documentation of every route it holds. */
export function managementApi(deps: AppDeps): { router: Router; routes: RouteDoc[] } {
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
  routes.push({ method: 'get', path: '/openapi.json', tag: 'meta', summary: 'This document', kinds: [], status: 200, public: true });
  const document = openApiDocument(routes, `${deps.config.PUBLIC_BASE_URL.replace(/\/$/, '')}${API_PREFIX}`);

  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.post('/session', ...signIn);
  const { config } = deps;
  const limits = { operator: config.API_RATE_LIMIT_OPERATOR, advertiser: config.API_RATE_LIMIT_ADVERTISER, publisher: config.API_RATE_LIMIT_PUBLISHER };
  router.use(authenticate(), apiRateLimit({ windowMs: config.API_RATE_LIMIT_WINDOW_MS, limits }), express.json({ limit: '64kb' }));
  for (const r of resources) router.use(r);
  router.use(apiErrors);
  return { router, routes };
}

/** The management and reporting API under /api/v1, and the dashboard that uses it under /app. */
export function managementMounts(deps: AppDeps): [string, Router][] {
  return [
    [API_PREFIX, managementApi(deps).router],
    [DASHBOARD_PREFIX, dashboardRouter()],
  ];
}
