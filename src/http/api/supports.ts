import { z } from 'zod';
import type { AppDeps } from '../../app';
import { Publisher } from '../../persistence/models/publisher';
import { Support } from '../../persistence/models/support';
import { HttpError } from '../http-error';
import { account, type Principal } from './principal';
import { assertExists, resourceRouter } from './resource';
import { recordSchemaOf } from './record-schema';
import type { RouteDoc } from './route';
import { idSchema, nameSchema, siteUrl } from './schemas';
import { unprocessable } from './validation';

const KINDS = ['site', 'newsletter', 'placement', 'app', 'other'] as const;

/** Supports (a publisher's sites, newsletters, placements): a publisher key manages its own. */
export function supportsRouter(registry: RouteDoc[], deps: AppDeps) {
  return resourceRouter(registry, {
    tag: 'supports',
    path: '/supports',
    noun: 'support',
    idPrefix: 'sup',
    model: Support,
    kinds: { read: ['operator', 'publisher'], create: ['operator', 'publisher'], update: ['operator', 'publisher'], archive: ['operator', 'publisher'] },
    create: z.object({ publisherId: idSchema.optional(), name: nameSchema, kind: z.enum(KINDS).default('site'), url: siteUrl.nullable().default(null) }),
    update: z.object({ name: nameSchema, kind: z.enum(KINDS), url: siteUrl.nullable(), status: z.enum(['active', 'archived']) }).partial(),
    record: recordSchemaOf(Support),
    filters: z.object({ publisher: idSchema.optional(), status: z.enum(['active', 'archived']).optional() }),
    filterQuery: (f) => ({ ...(f.publisher ? { publisherId: f.publisher } : {}), ...(f.status ? { status: f.status } : {}) }),
    visible: async (p: Principal) => (p.kind === 'operator' ? null : { publisherId: account(p) }),
    prepareCreate: async (p, input) => {
      let publisherId = input.publisherId;
      if (p.kind === 'publisher') {
        if (publisherId !== undefined && publisherId !== account(p)) throw new HttpError(403, 'a publisher key creates supports for its own publisher only');
        publisherId = account(p);
      }
      if (!publisherId) throw unprocessable([{ path: 'publisherId', message: 'is required with an operator key' }]);
      await assertExists(Publisher, 'publisherId', [publisherId]);
      return { ...input, publisherId };
    },
    changed: () => deps.cache.supports.clear(),
  }).router;
}
