import type { RequestHandler } from 'express';
import { SESSION_ID_RE } from '../../domain/conversion-params';
import type { ConfigCache } from '../../persistence/config-cache';
import { inbounds } from '../../persistence/models/inbound';
import { sessions } from '../../persistence/models/session';
import { sameSecret } from '../conversion-intake';
import { errorBody, firstString } from '../http-error';
import { ipAllowed } from '../ip-allowlist';

/**
 * GET /postback/status?request_id=…&token=…: what became of a pixel or postback request, for the
 * advertiser that sent it (its postback token). An unknown id and another advertiser's id get the
 * same 404, so the lookup tells nothing about requests the caller did not send.
 */
export function postbackStatusRoute(d: { cache: ConfigCache }): RequestHandler {
  return async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const requestId = firstString(req.query.request_id)?.trim() ?? '';
    const token = firstString(req.query.token) ?? '';
    if (!SESSION_ID_RE.test(requestId)) {
      res.status(400).json(errorBody('invalid parameters: request_id must be the request_id of a /postback or pixel answer', [{ path: 'request_id', message: 'must be the request_id of a /postback or pixel answer' }]));
      return;
    }
    if (!token) {
      res.status(401).json(errorBody('token is required (the advertiser postback secret)', [{ path: 'token', message: 'is required' }]));
      return;
    }
    const inbound = await inbounds().findOne({ _id: requestId.toLowerCase() });
    const session = inbound?.sessionId ? await sessions().findOne({ _id: inbound.sessionId }, { projection: { advertiserId: 1 } }) : null;
    const advertiser = session ? await d.cache.advertisers.get(session.advertiserId) : null;
    if (!inbound || !advertiser || !sameSecret(token, advertiser.postbackToken)) {
      res.status(404).json(errorBody(`no request ${requestId} for this token`));
      return;
    }
    if (!ipAllowed(req.ip ?? '', advertiser.ipAllowlist)) {
      res.status(401).json(errorBody(`IP ${req.ip} is not on the advertiser's allowlist`));
      return;
    }
    const decision = inbound.decision;
    const outcome = inbound.outcome === 'rejected' ? 'rejected' : (decision?.outcome ?? 'pending');
    res.json({
      request_id: inbound._id,
      session_id: inbound.sessionId,
      received_at: inbound.at?.toISOString?.() ?? null,
      answer: { http_status: inbound.httpStatus ?? null, outcome: inbound.outcome ?? null },
      outcome,
      reason: inbound.outcome === 'rejected' ? inbound.reason : (decision?.reason ?? null),
      conversion_id: decision?.conversionId ?? null,
      decided_at: decision?.at ? new Date(decision.at).toISOString() : null,
    });
  };
}
