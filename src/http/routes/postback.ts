import type { RequestHandler } from 'express';
import { takeConversion, type IntakeDeps } from '../conversion-intake';

/** GET or POST /postback: server-to-server conversions, JSON answers 202/400/401/404/410. */
export function postbackRoute(d: IntakeDeps): RequestHandler {
  return async (req, res) => {
    const result = await takeConversion(d, { source: 'postback', params: mergeParams(req.query, req.body), ip: req.ip ?? '' });
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
