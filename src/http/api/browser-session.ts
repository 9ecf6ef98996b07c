import { stringifySetCookie } from 'cookie';
import express, { type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../config';
import { ApiKey, hashApiKey } from '../../persistence/models/api-key';
import { BrowserSession, csrfTokenOf, hashSessionId, openBrowserSession } from '../../persistence/models/browser-session';
import { HttpError } from '../http-error';
import { authFailureLimit } from '../rate-limits';
import { SESSION_COOKIE, principalOfKey, type Principal } from './principal';
import { ALL_KINDS, ApiRouter, type RouteDoc } from './route';
import { parseInput } from './validation';

// The dashboard signs in by exchanging an API key for a session cookie, so the key itself is never
// kept in the browser. The cookie is HttpOnly (no script reads it) and SameSite=Strict (no other
// site's page sends it); changes made with it also need the session's CSRF token (principal.ts).

const signInBody = z.strictObject({ key: z.string({ error: 'is required: an API key, as a string' }).trim().min(1, 'is required: paste an API key').max(256) });

const WHO_AM_I = z
  .object({
    key_id: z.string(),
    kind: z.enum(['operator', 'advertiser', 'publisher']),
    account_id: z.string().nullable(),
    /** The cookie session's expiry; null when the request was made with an API key. */
    expires_at: z.iso.datetime().nullable(),
    /** Send as X-CSRF-Token with every change made with the cookie; null with an API key. */
    csrf_token: z.string().nullable(),
    temporal_ui_url: z.string(),
    temporal_namespace: z.string(),
  })
  .meta({ title: 'WhoAmI' });

function cookieOptions(config: Config) {
  const secure = config.COOKIE_SECURE === 'auto' ? config.PUBLIC_BASE_URL.startsWith('https:') : config.COOKIE_SECURE === 'true';
  return { path: '/', httpOnly: true, secure, sameSite: 'strict' as const };
}

function whoAmI(p: Principal, config: Config, expiresAt: Date | null, csrfToken: string | null) {
  return {
    key_id: p.keyId,
    kind: p.kind,
    account_id: p.accountId,
    expires_at: expiresAt?.toISOString() ?? null,
    csrf_token: csrfToken,
    temporal_ui_url: config.TEMPORAL_UI_URL.replace(/\/$/, ''),
    temporal_namespace: config.TEMPORAL_NAMESPACE,
  };
}

/** POST /session, served before authentication: it is where the browser's credential comes from. */
export function signInRoute(registry: RouteDoc[], config: Config): RequestHandler[] {
  registry.push({ method: 'post', path: '/session', tag: 'session', summary: 'Sign in to the dashboard: exchange an API key for an HttpOnly session cookie; answers the CSRF token', kinds: [], body: signInBody, status: 201, public: true, response: WHO_AM_I });
  const handler: RequestHandler = async (req, res) => {
    // JSON only: a cross-site form cannot send it without a CORS preflight, which nothing here answers.
    if (!req.is('application/json')) throw new HttpError(415, 'send the key as JSON: {"key": "<API key>"} with Content-Type: application/json');
    const { key } = parseInput(signInBody, req.body ?? {});
    const doc = await ApiKey.findOne({ hash: hashApiKey(key) }).lean();
    const principal = await principalOfKey(doc);
    const ttlEnd = Date.now() + config.DASHBOARD_SESSION_TTL_MS;
    const expiresAt = new Date(doc!.expiresAt ? Math.min(ttlEnd, doc!.expiresAt.getTime()) : ttlEnd);
    const session = await openBrowserSession(principal.keyId, expiresAt);
    res.append('Set-Cookie', stringifySetCookie(SESSION_COOKIE, session.id, { ...cookieOptions(config), expires: expiresAt }));
    res.status(201).json(whoAmI(principal, config, expiresAt, session.csrfToken));
  };
  // A key is 256 random bits, but a guesser still costs a hash and a lookup per try: cut it off per IP.
  const guard = authFailureLimit({
    windowMs: config.SIGN_IN_FAILURE_WINDOW_MS,
    failures: config.SIGN_IN_FAILURES_PER_IP,
    refusal: (seconds) => `too many failed sign-ins from this IP (SIGN_IN_FAILURES_PER_IP); retry after ${seconds} s`,
  });
  return [guard, express.json({ limit: '4kb' }), handler];
}

/** GET /session (who is signed in, and the CSRF token after a reload) and DELETE /session (sign out). */
export function browserSessionRouter(registry: RouteDoc[], config: Config) {
  const api = new ApiRouter(registry, 'session');
  const current = (res: Response): string | null => (typeof res.locals.browserSessionId === 'string' ? res.locals.browserSessionId : null);
  api.route('get', '/session', { summary: 'Who is signed in: key kind, account, expiry and the CSRF token of the cookie session', kinds: ALL_KINDS, response: WHO_AM_I }, async ({ principal, res }) => {
    const id = current(res);
    const session = id ? await BrowserSession.findById(hashSessionId(id), { expiresAt: 1 }).lean() : null;
    return whoAmI(principal, config, session?.expiresAt ?? null, id ? csrfTokenOf(id) : null);
  });
  api.route('delete', '/session', { summary: 'Sign out: the session cookie stops working at once', kinds: ALL_KINDS, response: z.object({ signed_out: z.literal(true) }) }, async ({ res }) => {
    const id = current(res);
    if (!id) throw new HttpError(409, 'no dashboard session to sign out of: this request was made with an API key');
    await BrowserSession.deleteOne({ _id: hashSessionId(id) });
    res.append('Set-Cookie', stringifySetCookie(SESSION_COOKIE, '', { ...cookieOptions(config), expires: new Date(0) }));
    return { signed_out: true };
  });
  return api.router;
}
