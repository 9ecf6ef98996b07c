import type { RequestHandler, Response } from 'express';
import { Advertiser } from '../../persistence/models/advertiser';
import { ApiKey, hashApiKey, type ApiKeyKind } from '../../persistence/models/api-key';
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

/**
 * Resolves `Authorization: Bearer <key>` on every request (no cache), so a revoked or expired key,
 * or the key of an archived account, stops working at once.
 */
export function authenticate(): RequestHandler {
  return async (req, res, next) => {
    const m = BEARER_RE.exec(req.get('authorization') ?? '');
    res.set('WWW-Authenticate', 'Bearer');
    if (!m) throw new HttpError(401, 'missing API key: send Authorization: Bearer <key>');
    const key = await ApiKey.findOne({ hash: hashApiKey(m[1]!) }).lean();
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
    res.removeHeader('WWW-Authenticate');
    const principal: Principal = { keyId: key._id, kind: key.kind, accountId: key.accountId ?? null };
    res.locals.principal = principal;
    next();
  };
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
