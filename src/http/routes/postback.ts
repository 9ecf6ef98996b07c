import type { RequestHandler } from 'express';
import { v7 as uuidv7 } from 'uuid';
import { takeConversion, type IntakeDeps } from '../conversion-intake';

/**
 * Every /postback answer carries a request id, the error answers of the body parsers and the
 * method check too: the id is chosen before anything can fail.
 */
export function postbackRequestId(): RequestHandler {
  return (_req, res, next) => {
    res.locals.requestId = uuidv7();
    next();
  };
}

/** GET or POST /postback: server-to-server conversions, JSON answers 200/202/400/401/404/410. */
export function postbackRoute(d: IntakeDeps): RequestHandler {
  return async (req, res) => {
    const requestId = typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;
    const result = await takeConversion(d, { requestId, source: 'postback', params: mergeParams(req.query, req.body), ip: req.ip ?? '' });
    res.status(result.status).set('Cache-Control', 'no-store').json(result.body);
  };
}

/** Query and body (form or JSON) together; a key given in both with another value is ambiguous. */
function mergeParams(query: unknown, body: unknown): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...(query as Record<string, unknown>) };
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    for (const [k, v] of Object.entries(body)) {
      merged[k] = k in merged && merged[k] !== v ? [merged[k], v].flat() : v;
    }
  }
  return merged;
}
