import type { Request, RequestHandler } from 'express';
import { intakeOutcome, takeConversion, type IntakeDeps } from '../conversion-intake';

const BEARER_RE = /^Bearer\s+(\S{1,512})\s*$/i;

/** GET or POST /postback: server-to-server conversions, JSON answers 200/202/400/401/404/410. */
export function postbackRoute(d: IntakeDeps): RequestHandler {
  return async (req, res) => {
    // The request id (chosen before anything could fail, see request-context.ts) is the conversion request's id.
    const { requestId, log } = res.locals;
    const result = await takeConversion(d, log, { requestId, source: 'postback', params: mergeParams(req.query, req.body), ip: req.ip ?? '', headerTokens: headerTokens(req) });
    res.locals.intake = { source: 'postback', outcome: intakeOutcome(result), code: result.status };
    res.status(result.status).set('Cache-Control', 'no-store');
    // 503: the database did not answer; the conversion was not taken, the sender should retry.
    if (result.status === 503) res.set('Retry-After', '5');
    res.json(result.body);
  };
}

/**
 * The token may travel in a header instead of the URL (audit L2), so proxies and the
 * advertiser's own logs never see it: `X-Clicktrail-Token: <token>` or `Authorization: Bearer <token>`.
 */
function headerTokens(req: Request): string[] {
  const tokens: string[] = [];
  const own = req.get('x-clicktrail-token')?.trim();
  if (own) tokens.push(own);
  const bearer = BEARER_RE.exec(req.get('authorization') ?? '');
  if (bearer) tokens.push(bearer[1]!);
  return tokens;
}

/**
 * Query and body (form or JSON) together; a key given in both with another value is ambiguous.
 * No prototype: a body key `__proto__` is a plain key like any other (audit I1).
 */
function mergeParams(query: unknown, body: unknown): Record<string, unknown> {
  const merged: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, query);
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    for (const [k, v] of Object.entries(body)) {
      merged[k] = Object.hasOwn(merged, k) && merged[k] !== v ? [merged[k], v].flat() : v;
    }
  }
  return merged;
}
