import { randomBytes } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import type { AppDeps } from '../../app';
import { Advertiser } from '../../persistence/models/advertiser';
import { HttpError } from '../http-error';
import { account, type Principal } from './principal';
import { findVisible, resourceRouter } from './resource';
import { recordSchemaOf } from './record-schema';
import type { RouteDoc } from './route';
import { documented, nameSchema } from './schemas';
import { PIXEL_HOST_RE } from '../../domain/pixel-policy';

const ipEntry = z.string().refine((v) => {
  try {
    if (v.includes('/')) ipaddr.parseCIDR(v);
    else ipaddr.process(v);
    return true;
  } catch {
    return false;
  }
}, 'must be an IP address or a CIDR range such as 203.0.113.0/24');
documented(ipEntry, {
  type: 'string',
  anyOf: [
    { format: 'ipv4' },
    { format: 'ipv6' },
    { pattern: '^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/(?:3[0-2]|[12]?[0-9])$' },
  ],
  description: 'An IP address, or a CIDR range such as 203.0.113.0/24 (IPv6 ranges such as 2001:db8::/32 are accepted too)',
});

/** The advertiser's pixel policy (src/domain/pixel-policy.ts); on PATCH, fields left out stay as they are. */
const pixelPolicy = z.strictObject({
  enabled: z.boolean().optional(),
  allowedHosts: z
    .array(z.string().trim().toLowerCase().regex(PIXEL_HOST_RE, 'must be a host name such as shop.example, or *.shop.example for its subdomains'))
    .max(100)
    .optional(),
  cookieOnly: z.boolean().optional(),
});

const ADVERTISER = recordSchemaOf(Advertiser);

const newToken = () => randomBytes(24).toString('base64url');

/** Advertisers: operators manage them; an advertiser key reads its own and sets its IP allowlist and pixel policy. */
export function advertisersRouter(registry: RouteDoc[], deps: AppDeps) {
  const visible = async (p: Principal) => (p.kind === 'operator' ? null : { _id: account(p) });
  const api = resourceRouter(registry, {
    tag: 'advertisers',
    path: '/advertisers',
    noun: 'advertiser',
    idPrefix: 'adv',
    model: Advertiser,
    kinds: { read: ['operator', 'advertiser'], create: ['operator'], update: ['operator', 'advertiser'], archive: ['operator'] },
    create: z.object({ name: nameSchema, ipAllowlist: z.array(ipEntry).max(200).default([]), pixel: pixelPolicy.optional() }),
    update: z.object({ name: nameSchema.optional(), ipAllowlist: z.array(ipEntry).max(200).optional(), status: z.enum(['active', 'archived']).optional(), pixel: pixelPolicy.optional() }),
    record: ADVERTISER,
    filters: z.object({ status: z.enum(['active', 'archived']).optional() }),
    filterQuery: (f) => (f.status ? { status: f.status } : {}),
    visible,
    prepareCreate: async (_p, input) => ({ ...input, postbackToken: newToken() }),
    prepareUpdate: async (p, _doc, patch) => {
      if (p.kind !== 'operator' && patch.status !== undefined) throw new HttpError(403, 'only operators archive or restore advertisers');
      return patch;
    },
    changed: () => deps.cache.advertisers.clear(),
  });

  api.route('post', '/advertisers/:id/rotate-token', { summary: 'Replace the postback token; the old one stops working within the config cache TTL', kinds: ['operator', 'advertiser'], response: ADVERTISER }, async ({ principal, params }) => {
    const current = await findVisible(Advertiser, await visible(principal), 'advertiser', params.id!);
    const doc = await Advertiser.findOneAndUpdate({ _id: current._id }, { $set: { postbackToken: newToken() } }, { returnDocument: 'after' }).lean();
    deps.cache.advertisers.clear();
    const { _id, ...rest } = doc!;
    return { id: _id, ...rest };
  });
  return api.router;
}
