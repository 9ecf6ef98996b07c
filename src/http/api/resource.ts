import { randomBytes } from 'node:crypto';
import type { Model } from 'mongoose';
import { z } from 'zod';
import type { ApiKeyKind } from '../../persistence/models/api-key';
import { HttpError, ID_RE } from '../http-error';
import { pageSchema, paginate } from './pagination';
import type { Principal } from './principal';
import { ApiRouter, type RouteDoc } from './route';
import { idSchema, pageQuery } from './schemas';
import { unprocessable } from './validation';

// The create / read / update / list / archive routes every configuration resource shares. What
// differs per resource (who sees which records, reference checks, what a key may set) is in its spec.

type Filter = Record<string, unknown>;
type Doc = Record<string, unknown> & { _id: string };

export interface ResourceSpec<C extends z.ZodObject, U extends z.ZodObject, F extends z.ZodObject> {
  tag: string;
  /** `/campaigns` */
  path: string;
  noun: string;
  idPrefix: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  model: Model<any>;
  kinds: { read: readonly ApiKeyKind[]; create: readonly ApiKeyKind[]; update: readonly ApiKeyKind[]; archive: readonly ApiKeyKind[] };
  create: C;
  update: U;
  filters: F;
  /** The record as answered (JSON Schema, from the model: record-schema.ts). */
  record: Record<string, unknown>;
  filterQuery: (f: z.output<F>) => Filter;
  /** The records this key may see (null: all). Records outside it answer 404, so ids do not leak. */
  visible: (p: Principal) => Promise<Filter | null>;
  /** Checks references and what the key may set; returns the fields to store. */
  prepareCreate?: (p: Principal, input: z.output<C>) => Promise<Filter>;
  prepareUpdate?: (p: Principal, current: Doc, patch: z.output<U>) => Promise<Filter>;
  present?: (doc: Doc, p: Principal) => Filter;
  /** After any write: e.g. drop the click path's cached copy. */
  changed?: () => void;
}

export function presentDoc(doc: Doc): Filter {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}

export function notFound(noun: string, id: string): HttpError {
  return new HttpError(404, `no ${noun} "${id}"`);
}

/** The record if this key may see it; otherwise 404, whether it exists or not. */
export async function findVisible(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  model: Model<any>,
  visible: Filter | null,
  noun: string,
  id: string,
): Promise<Doc> {
  const doc = ID_RE.test(id) ? ((await model.findOne(visible ? { $and: [{ _id: id }, visible] } : { _id: id }).lean()) as Doc | null) : null;
  if (!doc) throw notFound(noun, id);
  return doc;
}

/** Nested objects are merged field by field on PATCH (`providers.campaign`), arrays replaced. */
export function toSet(patch: Filter): Filter {
  const set: Filter = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Filter)) if (v2 !== undefined) set[`${k}.${k2}`] = v2;
    } else set[k] = v;
  }
  return set;
}

export function resourceRouter<C extends z.ZodObject, U extends z.ZodObject, F extends z.ZodObject>(
  registry: RouteDoc[],
  s: ResourceSpec<C, U, F>,
): ApiRouter {
  const api = new ApiRouter(registry, s.tag);
  const present = (doc: Doc, p: Principal) => (s.present ? s.present(doc, p) : presentDoc(doc));
  const createBody = s.create.extend({ id: idSchema.optional() }).strict();

  api.route('post', s.path, { summary: `Create a ${s.noun} (give an id or get a generated one)`, kinds: s.kinds.create, body: createBody, status: 201, response: s.record }, async ({ principal, body }) => {
    const { id, ...input } = body as { id?: string } & Filter;
    const fields = s.prepareCreate ? await s.prepareCreate(principal, input as z.output<C>) : input;
    const doc = await s.model.create({ ...fields, _id: id ?? `${s.idPrefix}_${randomBytes(6).toString('hex')}` });
    s.changed?.();
    return present(doc.toObject() as Doc, principal);
  });

  api.route('get', s.path, { summary: `List ${s.noun}s, by id, a page at a time`, kinds: s.kinds.read, query: s.filters.extend(pageQuery).strict(), response: pageSchema(s.record) }, async ({ principal, query }) => {
    const visible = await s.visible(principal);
    const { limit, cursor, ...filters } = query as { limit: number; cursor?: string } & Filter;
    const base = [s.filterQuery(filters as z.output<F>), ...(visible ? [visible] : [])];
    return paginate(
      { limit, cursor },
      (after, n) => s.model.find({ $and: [...base, after] }).sort({ _id: 1 }).limit(n).lean() as Promise<Doc[]>,
      (doc) => present(doc, principal),
    );
  });

  api.route('get', `${s.path}/:id`, { summary: `Read a ${s.noun}`, kinds: s.kinds.read, response: s.record }, async ({ principal, params }) => {
    return present(await findVisible(s.model, await s.visible(principal), s.noun, params.id!), principal);
  });

  api.route('patch', `${s.path}/:id`, { summary: `Change a ${s.noun}`, kinds: s.kinds.update, body: s.update.strict(), response: s.record }, async ({ principal, params, body }) => {
    const current = await findVisible(s.model, await s.visible(principal), s.noun, params.id!);
    const fields = s.prepareUpdate ? await s.prepareUpdate(principal, current, body as z.output<U>) : (body as Filter);
    const set = toSet(fields);
    const doc = Object.keys(set).length === 0 ? current : ((await s.model.findOneAndUpdate({ _id: current._id }, { $set: set }, { returnDocument: 'after', runValidators: true }).lean()) as Doc | null);
    if (!doc) throw notFound(s.noun, params.id!);
    s.changed?.();
    return present(doc, principal);
  });

  // Not DELETE: the record stays readable (sessions and reports keep referring to it), so archiving is an action.
  api.route('post', `${s.path}/:id/archive`, { summary: `Archive a ${s.noun}: it stays readable, with status archived (PATCH status restores it)`, kinds: s.kinds.archive, response: s.record }, async ({ principal, params }) => {
    const current = await findVisible(s.model, await s.visible(principal), s.noun, params.id!);
    const doc = (await s.model.findOneAndUpdate({ _id: current._id }, { $set: { status: 'archived' } }, { returnDocument: 'after' }).lean()) as Doc;
    s.changed?.();
    return present(doc, principal);
  });

  return api;
}

/** An id a record refers to must exist: a 422 naming the field otherwise. */
export async function assertExists(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  model: Model<any>,
  field: string,
  ids: (string | null | undefined)[],
  extra: Filter = {},
): Promise<void> {
  const wanted = [...new Set(ids.filter((v): v is string => typeof v === 'string'))];
  if (wanted.length === 0) return;
  const found = new Set((await model.find({ _id: { $in: wanted }, ...extra }, { _id: 1 }).lean()).map((d) => String(d._id)));
  const missing = wanted.filter((id) => !found.has(id));
  if (missing.length > 0) {
    throw unprocessable([{ path: field, message: `unknown: ${missing.slice(0, 10).join(', ')}` }]);
  }
}
