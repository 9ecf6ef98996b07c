import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { LRUCache } from 'lru-cache';
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

/** /postback: see authFailureLimit. */
export function postbackAuthFailureLimit(o: { windowMs: number; failures: number }): RequestHandler {
  return authFailureLimit({ ...o, refusal: (seconds) => `too many requests with a wrong or missing token from this IP; retry after ${seconds} s` });
}

/**
 * /postback and the dashboard's sign-in (POST /api/v1/session): after `failures` answers of 401 to
 * one IP within the window, that IP gets 429 (with Retry-After) before any work until the window ends. A failure is counted once its 401 has been
 * answered, never while a request is in flight: counting up front (and forgiving on success) would
 * take a sender with many postbacks open at once, or whose connections drop, for a token guesser
 * (the bench's postback load locked its own IP out that way).
 */
export function authFailureLimit(o: { windowMs: number; failures: number; refusal: (seconds: number) => string }): RequestHandler {
  const failed = new LRUCache<string, { count: number; resetAt: number }>({ max: 100_000 });
  return (req, res, next) => {
    const ip = ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? '');
    const entry = failed.get(ip);
    if (entry && entry.resetAt > Date.now() && entry.count >= o.failures) {
      const seconds = Math.max(1, Math.ceil((entry.resetAt - Date.now()) / 1000));
      res
        .status(429)
        .set({ 'Retry-After': String(seconds), 'Cache-Control': 'no-store' })
        .json({ error: o.refusal(seconds), fields: [] });
      return;
    }
    res.on('finish', () => {
      if (res.statusCode !== 401) return;
      const now = Date.now();
      const current = failed.get(ip);
      if (current && current.resetAt > now) current.count++;
      else failed.set(ip, { count: 1, resetAt: now + o.windowMs });
    });
    next();
  };
}
