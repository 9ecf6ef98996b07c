import { parseCookie } from 'cookie';
import type { RequestHandler, Response } from 'express';
import { Advertiser } from '../../persistence/models/advertiser';
import { ApiKey, hashApiKey, type ApiKeyDoc, type ApiKeyKind } from '../../persistence/models/api-key';
import { BrowserSession, csrfTokenOf, hashSessionId } from '../../persistence/models/browser-session';
import { Publisher } from '../../persistence/models/publisher';
import { HttpError } from '../http-error';

/** Who is calling: an operator (everything) or one advertiser's or publisher's account. */
export interface Principal {
  keyId: string;
  kind: ApiKeyKind;
  /** The advertiser or publisher id; null for operators. */
  accountId: string | null;
}

const BEARER_RE = /^Bearer\s+(\S{1,256})\s*$/i;

/** lastUsedAt is written at most this often per key: one write per minute, not one per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** The dashboard's sign-in cookie (an opaque id; see browser-session.ts). */
export const SESSION_COOKIE = 'ct_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Resolves `Authorization: Bearer <key>`, else the dashboard's session cookie, on every request (no
 * cache), so a revoked or expired key, the key of an archived account, or a signed-out or expired
 * session stops working at once. A change made with the cookie needs the session's CSRF token in
 * `X-CSRF-Token`: a cross-site page can make the browser send the cookie, never read the token.
 */
export function authenticate(): RequestHandler {
  return async (req, res, next) => {
    const started = performance.now();
    const header = req.get('authorization');
    const sessionId = header === undefined ? sessionCookie(req.get('cookie')) : undefined;
    res.set('WWW-Authenticate', 'Bearer');
    let key: ApiKeyDoc | null;
    if (sessionId !== undefined) {
      const session = await BrowserSession.findById(hashSessionId(sessionId)).lean();
      if (!session || session.expiresAt.getTime() <= Date.now()) throw new HttpError(401, 'your dashboard session has ended (signed out or expired): sign in again');
      if (!SAFE_METHODS.has(req.method) && req.get('x-csrf-token') !== csrfTokenOf(sessionId)) {
        throw new HttpError(403, 'missing or wrong X-CSRF-Token header: a change made with the session cookie needs the token given at sign-in');
      }
      key = await ApiKey.findById(session.keyId).lean();
      res.locals.browserSessionId = sessionId;
    } else {
      const m = BEARER_RE.exec(header ?? '');
      if (!m) throw new HttpError(401, 'missing API key: send Authorization: Bearer <key>');
      key = await ApiKey.findOne({ hash: hashApiKey(m[1]!) }).lean();
    }
    const principal = await principalOfKey(key);
    res.removeHeader('WWW-Authenticate');
    res.locals.principal = principal;
    // For Server-Timing (reports): these reads are not the report's, but its caller waits on them.
    res.locals.authMs = performance.now() - started;
    next();
  };
}

/** The principal an API key stands for, or the 401 that says why it stands for none. */
export async function principalOfKey(key: ApiKeyDoc | null): Promise<Principal> {
  if (!key || key.revokedAt) throw new HttpError(401, 'unknown or revoked API key');
  const now = Date.now();
  if (key.expiresAt && key.expiresAt.getTime() <= now) throw new HttpError(401, `API key expired at ${key.expiresAt.toISOString()}`);
  if (key.kind !== 'operator') {
    const owner =
      key.kind === 'advertiser'
        ? await Advertiser.findById(key.accountId, { status: 1 }).lean()
        : await Publisher.findById(key.accountId, { status: 1 }).lean();
    if (!owner || owner.status === 'archived') {
      throw new HttpError(401, `the ${key.kind} account "${key.accountId}" of this API key ${owner ? 'is archived' : 'does not exist'}`);
    }
  }
  if (!key.lastUsedAt || now - key.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) touch(key._id, now);
  return { keyId: key._id, kind: key.kind, accountId: key.accountId ?? null };
}

function sessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    const id = parseCookie(header)[SESSION_COOKIE];
    return id && id.length <= 128 ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort and off the request path: a failed write costs only a less precise lastUsedAt. */
function touch(id: string, now: number): void {
  const stale = new Date(now - LAST_USED_RESOLUTION_MS);
  ApiKey.updateOne({ _id: id, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lte: stale } }] }, { $set: { lastUsedAt: new Date(now) } })
    .exec()
    .catch(() => undefined);
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new HttpError(401, 'missing API key');
  return p;
}

/** The id a scoped key is bound to (callers have checked the kind). */
export function account(p: Principal): string {
  if (!p.accountId) throw new HttpError(403, `this ${p.kind} key has no account`);
  return p.accountId;
}
