import type { Request, RequestHandler } from 'express';
import { firstString } from '../http-error';
import { redactUrl } from '../redact';
import { intakeOutcome, takeConversion, type IntakeDeps } from '../conversion-intake';
import { pageHost } from '../../domain/pixel-policy';
import { sessionFromCookies } from '../tracking-cookies';

const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * GET /px.gif (and /px.html for iframe placements): always 200, whatever happened, so the
 * advertiser's page never breaks. What happened is in the inbound log.
 */
export function pixelRoute(d: IntakeDeps, variant: 'gif' | 'html'): RequestHandler {
  return async (req: Request, res) => {
    try {
      // What became of it is not said to the caller (audit L1: the answer would tell valid click
      // ids from invalid ones); it is in the inbound log, under the request id given here, which
      // the advertiser can look up with its token (GET /postback/status).
      const result = await takeConversion(d, res.locals.log, {
        requestId: res.locals.requestId,
        source: 'pixel',
        params: req.query as Record<string, unknown>,
        ip: req.ip ?? '',
        cookieSessionId: (campaignId) => sessionFromCookies(req.get('cookie'), campaignId ?? firstString(req.query.campaign)),
        pageHost: pageHost(req.get('origin'), req.get('referer')),
      });
      res.set('X-Clicktrail-Request-Id', String(result.body.request_id ?? ''));
      res.locals.intake = { source: 'pixel', outcome: intakeOutcome(result), code: result.status };
    } catch (err) {
      res.locals.intake = { source: 'pixel', outcome: 'error', code: 500 };
      d.metrics.dependencyError(err, 'pixel');
      res.locals.log.error({ err: String(err), query: redactUrl(req.originalUrl).slice(0, 512) }, 'pixel failed');
    }
    res.status(200).set('Cache-Control', 'no-store, max-age=0');
    if (variant === 'gif') res.type('image/gif').send(GIF);
    else res.type('text/html').send('<!doctype html><title></title>');
  };
}
