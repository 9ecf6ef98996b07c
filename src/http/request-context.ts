import type { Request, RequestHandler } from 'express';
import { v7 as uuidv7 } from 'uuid';
import type { Logger } from '../log';
import type { ClickOutcome, IntakeOutcome, Metrics } from '../metrics';
import type { HotPathLoad } from './hot-path-load';
import { redactUrl } from './redact';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** This request's id: the `X-Request-Id` answer header, `request_id` of error bodies, `requestId` of its log lines. */
      requestId: string;
      /** The process logger bound to this request's id: handlers log through it. */
      log: Logger;
      /** Set by the click route: what became of the click, for the metrics. */
      clickOutcome?: ClickOutcome;
      /** Set by the pixel and postback routes: what became of the conversion request. */
      intake?: { source: 'pixel' | 'postback'; outcome: IntakeOutcome; code: number };
    }
  }
}

/** Printable ASCII without spaces, bounded: what a proxy or a client may sensibly send. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{8,128}$/;

/**
 * Paths where the request id is also the conversion request's key (the inbound log record, the
 * session workflow's redelivery check): a caller must not choose it, or it could overwrite another
 * request's record or have its conversion dropped as a redelivery. There an incoming
 * `X-Request-Id` is logged as `upstreamRequestId`.
 */
const OWN_ID_PATHS = /^\/(postback|px\.gif|px\.html)(\/|$)/;

/**
 * Gives every request its id (an incoming sane `X-Request-Id`, else a new UUID v7), answers it in
 * `X-Request-Id`, binds it into a child logger for the handlers and adds it to every JSON error
 * body. Observes the answer time and outcome for the metrics (and, for the hot paths, their
 * load), and logs each request at debug.
 */
export function requestContext(log: Logger, metrics: Metrics, hotPath?: HotPathLoad): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // Now: a mounted router rewrites req.url while it runs, and may answer before restoring it.
    const endpoint = endpointOf(req);
    const incoming = req.get('x-request-id');
    const sane = incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : undefined;
    const own = OWN_ID_PATHS.test(req.path);
    const requestId = sane && !own ? sane : uuidv7();
    res.locals.requestId = requestId;
    res.locals.log = log.child(sane && own ? { requestId, upstreamRequestId: sane } : { requestId });
    res.set('X-Request-Id', requestId);

    // Error bodies are written in many places (routes, validation, rate limits, the error
    // middleware); this is the one place that makes sure each says which request it answers.
    const json = res.json.bind(res);
    res.json = (body: unknown) => json(res.statusCode >= 400 && isErrorBody(body) ? { ...body, request_id: body.request_id ?? requestId } : body);

    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const code = String(res.statusCode);
      metrics.httpDuration.observe({ endpoint, code }, seconds);
      if (hotPath && (endpoint === 'click' || endpoint === 'pixel' || endpoint === 'postback')) hotPath.observe(seconds * 1000);
      // Answered before (or without) the route saying what happened: a 500, a guard, a parser.
      const fallback = res.statusCode >= 500 ? 'error' : res.statusCode === 404 ? 'not_found' : 'rejected';
      if (endpoint === 'click') metrics.clicks.inc({ outcome: res.locals.clickOutcome ?? (fallback === 'rejected' ? 'bad_request' : fallback) });
      const intake = res.locals.intake;
      if (intake) metrics.conversions.inc({ source: intake.source, outcome: intake.outcome, code: String(intake.code) });
      else if (endpoint === 'pixel' || endpoint === 'postback') metrics.conversions.inc({ source: endpoint, outcome: fallback === 'error' ? 'error' : 'rejected', code });
      // Checked first: the redacted URL would be built for every request at any level.
      if (res.locals.log.isLevelEnabled('debug')) {
        res.locals.log.debug({ method: req.method, url: redactUrl(req.originalUrl).slice(0, 512), status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
      }
    });
    next();
  };
}

function isErrorBody(body: unknown): body is { error: unknown; request_id?: unknown } {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && 'error' in body;
}

/** A bounded label: the public endpoints and the API, never a raw path. */
function endpointOf(req: Request): string {
  const p = req.path;
  if (p.startsWith('/c/')) return 'click';
  if (p === '/px.gif' || p === '/px.html') return 'pixel';
  if (p === '/postback') return 'postback';
  if (p === '/api/v1' || p.startsWith('/api/v1/')) return 'api';
  return 'other';
}
