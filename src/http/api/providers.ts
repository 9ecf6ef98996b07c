import { z } from 'zod';
import type { AppDeps } from '../../app';
import { OutboundPolicy } from '../../outbound/address-policy';
import { PROVIDER_KINDS, Provider } from '../../persistence/models/provider';
import { OPERATOR } from './route';
import { resourceRouter } from './resource';
import { recordSchemaOf } from './record-schema';
import type { RouteDoc } from './route';
import { nameSchema, urlTemplate } from './schemas';

/** Providers (intermediaries notified of conversions) are operator configuration. */
export function providersRouter(registry: RouteDoc[], deps: AppDeps) {
  const outbound = OutboundPolicy.fromConfig(deps.config);
  return resourceRouter(registry, {
    tag: 'providers',
    path: '/providers',
    noun: 'provider',
    idPrefix: 'prov',
    model: Provider,
    kinds: { read: OPERATOR, create: OPERATOR, update: OPERATOR, archive: OPERATOR },
    create: z.object({ name: nameSchema, kind: z.enum(PROVIDER_KINDS), notificationUrl: urlTemplate('postback', outbound).nullable().default(null) }),
    update: z.object({ name: nameSchema, notificationUrl: urlTemplate('postback', outbound).nullable(), status: z.enum(['active', 'archived']) }).partial(),
    record: recordSchemaOf(Provider),
    filters: z.object({ kind: z.enum(PROVIDER_KINDS).optional(), status: z.enum(['active', 'archived']).optional() }),
    filterQuery: (f) => ({ ...(f.kind ? { kind: f.kind } : {}), ...(f.status ? { status: f.status } : {}) }),
    visible: async () => null,
    changed: () => deps.cache.providers.clear(),
  }).router;
}
