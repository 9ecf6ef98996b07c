import { z } from 'zod';
import { Advertiser } from '../../persistence/models/advertiser';
import { API_KEY_KINDS, ApiKey, issueApiKey } from '../../persistence/models/api-key';
import { Publisher } from '../../persistence/models/publisher';
import { ID_RE } from '../http-error';
import { pageSchema, paginate } from './pagination';
import { recordSchemaOf } from './record-schema';
import { assertExists, findVisible } from './resource';
import { ApiRouter, OPERATOR, type RouteDoc } from './route';
import { dateQuery, idSchema, nameSchema, pageQuery } from './schemas';
import { unprocessable } from './validation';

type KeyDoc = { _id: string; hash?: string } & Record<string, unknown>;
const present = ({ _id, hash: _hash, ...rest }: KeyDoc) => ({ id: _id, ...rest });

const API_KEY = recordSchemaOf(ApiKey, { omit: ['hash'] });
const ISSUED_KEY = recordSchemaOf(ApiKey, { omit: ['hash'], title: 'IssuedApiKey', extra: { key: { type: 'string', description: 'The key itself: shown this once, never again' } } });

const keyFields = {
  name: nameSchema.optional(),
  /** ISO 8601 with offset; the key answers 401 from then on. */
  expiresAt: dateQuery.optional(),
};

/** API keys are operator business: issue (the plaintext is returned once), list, revoke. */
export function apiKeysRouter(registry: RouteDoc[]) {
  const api = new ApiRouter(registry, 'api-keys');
  api.route(
    'post',
    '/api-keys',
    {
      summary: 'Issue a key; the answer holds the key itself, which is never shown again',
      kinds: OPERATOR,
      status: 201,
      response: ISSUED_KEY,
      body: z.discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('operator'), ...keyFields }),
        // An advertiser or publisher key belongs to that account.
        z.strictObject({
          kind: z.enum(['advertiser', 'publisher']),
          accountId: z.string({ error: 'is required for an advertiser or publisher key' }).regex(ID_RE, 'must be 1 to 64 letters, digits, _ or -'),
          ...keyFields,
        }),
      ]),
    },
    async ({ body }) => {
      if (body.expiresAt && body.expiresAt.getTime() <= Date.now()) throw unprocessable([{ path: 'expiresAt', message: 'must be in the future' }]);
      const accountId = 'accountId' in body ? body.accountId : null;
      if (body.kind !== 'operator') await assertExists(body.kind === 'advertiser' ? Advertiser : Publisher, 'accountId', [accountId]);
      const { key, record } = await issueApiKey({ kind: body.kind, accountId, name: body.name ?? null, expiresAt: body.expiresAt ?? null });
      return { key, ...present(record) };
    },
  );
  api.route('get', '/api-keys', { summary: 'List keys (never the keys themselves)', kinds: OPERATOR, query: z.strictObject({ ...pageQuery, kind: z.enum(API_KEY_KINDS).optional(), account: idSchema.optional() }), response: pageSchema(API_KEY) }, async ({ query }) => {
    const filter = { ...(query.kind ? { kind: query.kind } : {}), ...(query.account ? { accountId: query.account } : {}) };
    return paginate(query, (after, n) => ApiKey.find({ ...filter, ...after }).sort({ _id: 1 }).limit(n).lean() as Promise<KeyDoc[]>, present);
  });
  api.route('get', '/api-keys/:id', { summary: 'Read a key', kinds: OPERATOR, response: API_KEY }, async ({ params }) => present((await findVisible(ApiKey, null, 'API key', params.id!)) as KeyDoc));
  api.route('post', '/api-keys/:id/revoke', { summary: 'Revoke a key: it answers 401 from now on', kinds: OPERATOR, response: API_KEY }, async ({ params }) => {
    const current = await findVisible(ApiKey, null, 'API key', params.id!);
    const doc = await ApiKey.findOneAndUpdate({ _id: current._id }, { $set: { revokedAt: current.revokedAt ?? new Date() } }, { returnDocument: 'after' }).lean();
    return present(doc as KeyDoc);
  });
  return api.router;
}
