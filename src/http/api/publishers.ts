import { z } from 'zod';
import type { AppDeps } from '../../app';
import { EVENT_NAME_RE } from '../../domain/conversion-params';
import { OutboundPolicy } from '../../outbound/address-policy';
import { Provider } from '../../persistence/models/provider';
import { Publisher } from '../../persistence/models/publisher';
import { HttpError } from '../http-error';
import { account, type Principal } from './principal';
import { assertExists, resourceRouter } from './resource';
import { recordSchemaOf } from './record-schema';
import type { RouteDoc } from './route';
import { idSchema, nameSchema, urlTemplate } from './schemas';

/** Publishers: operators manage them; a publisher key reads its own and sets its postback URLs. */
export function publishersRouter(registry: RouteDoc[], deps: AppDeps) {
  const outbound = OutboundPolicy.fromConfig(deps.config);
  const postbackUrls = z
    .array(z.strictObject({ event: z.string().regex(EVENT_NAME_RE, 'must be an event name'), url: urlTemplate('postback', outbound) }))
    .max(50);
  return resourceRouter(registry, {
    tag: 'publishers',
    path: '/publishers',
    noun: 'publisher',
    idPrefix: 'pub',
    model: Publisher,
    kinds: { read: ['operator', 'publisher'], create: ['operator'], update: ['operator', 'publisher'], archive: ['operator'] },
    create: z.object({
      name: nameSchema,
      postbackUrl: urlTemplate('postback', outbound).nullable().default(null),
      postbackUrls: postbackUrls.default([]),
      providerId: idSchema.nullable().default(null),
    }),
    update: z
      .object({ name: nameSchema, postbackUrl: urlTemplate('postback', outbound).nullable(), postbackUrls, providerId: idSchema.nullable(), status: z.enum(['active', 'archived']) })
      .partial(),
    record: recordSchemaOf(Publisher),
    filters: z.object({ status: z.enum(['active', 'archived']).optional(), provider: idSchema.optional() }),
    filterQuery: (f) => ({ ...(f.status ? { status: f.status } : {}), ...(f.provider ? { providerId: f.provider } : {}) }),
    visible: async (p: Principal) => (p.kind === 'operator' ? null : { _id: account(p) }),
    prepareCreate: async (_p, input) => {
      await assertExists(Provider, 'providerId', [input.providerId], { kind: 'publisher' });
      return input;
    },
    prepareUpdate: async (p, _doc, patch) => {
      if (p.kind !== 'operator' && (patch.providerId !== undefined || patch.status !== undefined)) {
        throw new HttpError(403, 'a publisher key changes its name and postback URLs only');
      }
      await assertExists(Provider, 'providerId', [patch.providerId], { kind: 'publisher' });
      return patch;
    },
    changed: () => deps.cache.publishers.clear(),
  }).router;
}
