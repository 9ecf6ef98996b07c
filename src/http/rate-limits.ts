import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import type { ApiKeyKind } from '../persistence/models/api-key';
import { principalOf } from './api/principal';

// express-rate-limit with its in-memory store: counts are per process, so N API processes behind a
// load balancer let a caller N times the limit through (a shared store, e.g. Redis, would fix that).

function retryAfterSeconds(req: Request, windowMs: number): number {
  const resetTime = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit?.resetTime;
  return Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));
}

/**
 * /api/v1, per API key (after authentication): `limits[kind]` requests per window. Every answer
 * carries the IETF `RateLimit`/`RateLimit-Policy` headers; past the limit, 429 with `Retry-After`.
 */
export function apiRateLimit(o: { windowMs: number; limits: Record<ApiKeyKind, number> }): RequestHandler {
  return rateLimit({
    windowMs: o.windowMs,
    limit: (_req, res) => o.limits[principalOf(res).kind],
    keyGenerator: (_req, res) => principalOf(res).keyId,
    identifier: (_req, res) => `${principalOf(res).kind}-key`,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (req, res) => {
      const { kind } = principalOf(res);
      const seconds = retryAfterSeconds(req, o.windowMs);
      res.status(429).json({ error: `rate limit exceeded: ${o.limits[kind]} requests per ${Math.ceil(o.windowMs / 1000)} s for a ${kind} key; retry after ${seconds} s` });
    },
  });
}

/**
 * /postback, per client IP: only 401 answers count. An IP past `failures` within the window gets
 * 429 before any work (no token check, no database read) until the window has passed.
 */
export function postbackAuthFailureLimit(o: { windowMs: number; failures: number }): RequestHandler {
  return rateLimit({
    windowMs: o.windowMs,
    limit: o.failures,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? ''),
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    standardHeaders: false,
    legacyHeaders: false,
    handler: (req, res) => {
      const seconds = retryAfterSeconds(req, o.windowMs);
      res
        .status(429)
        .set({ 'Retry-After': String(seconds), 'Cache-Control': 'no-store' })
        .json({ error: `too many requests with a wrong or missing token from this IP; retry after ${seconds} s` });
    },
  });
}
