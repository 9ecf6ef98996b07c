import type { RequestHandler, Response } from 'express';
import { ApiKey, hashApiKey, type ApiKeyKind } from '../../persistence/models/api-key';
import { HttpError } from '../http-error';

/** Who is calling: an operator (everything) or one advertiser's or publisher's account. */
export interface Principal {
  keyId: string;
  kind: ApiKeyKind;
  /** The advertiser or publisher id; null for operators. */
  accountId: string | null;
}

const BEARER_RE = /^Bearer\s+(\S{1,256})\s*$/i;

/**
 * Resolves `Authorization: Bearer <key>` on every request (no cache), so a revoked key stops
 * working at once.
 */
export function authenticate(): RequestHandler {
  return async (req, res, next) => {
    const m = BEARER_RE.exec(req.get('authorization') ?? '');
    res.set('WWW-Authenticate', 'Bearer');
    if (!m) throw new HttpError(401, 'missing API key: send Authorization: Bearer <key>');
    const key = await ApiKey.findOne({ hash: hashApiKey(m[1]!) }).lean();
    if (!key || key.revokedAt) throw new HttpError(401, 'unknown or revoked API key');
    res.removeHeader('WWW-Authenticate');
    const principal: Principal = { keyId: key._id, kind: key.kind, accountId: key.accountId ?? null };
    res.locals.principal = principal;
    next();
  };
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
