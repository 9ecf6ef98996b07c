import type { Model, Schema } from 'mongoose';

type Json = Record<string, unknown>;

/**
 * The JSON Schema of a record as the API answers it (`_id` as `id`), derived from its mongoose
 * model, so the OpenAPI document's responses follow the stored fields instead of a second copy.
 * A field is required when every stored record has it: the model requires it or gives it a default
 * (records the API writes go through mongoose). Records written raw (sessions, conversions) name
 * theirs in `required`. A field is nullable when its default is null or nothing guarantees a value.
 */
export interface RecordShape {
  /** Never answered (a key's hash, the hand-over's lease). */
  omit?: readonly string[];
  /** Left out for some key kinds (a publisher does not see revenue). */
  optional?: readonly string[];
  /** For raw-written records: the fields every record has, instead of what the model says. */
  required?: readonly string[];
  /** Fields that may be null although the model gives no null default. */
  nullable?: readonly string[];
  /** Fields the model does not describe, or describes more loosely than the record is (required unless `optional`). */
  extra?: Record<string, Json>;
  /** The component name in the document (default: the model's name). */
  title?: string;
}

interface PathType {
  instance: string;
  isRequired?: boolean;
  options?: { enum?: readonly string[]; default?: unknown };
  schema?: Schema;
  caster?: { instance: string };
  embeddedSchemaType?: { instance: string };
  $isMongooseDocumentArray?: boolean;
}

function scalar(instance: string, enumValues?: readonly string[]): Json {
  switch (instance) {
    case 'String':
      return enumValues?.length ? { type: 'string', enum: [...enumValues] } : { type: 'string' };
    case 'Number':
      return { type: 'number' };
    case 'Boolean':
      return { type: 'boolean' };
    case 'Date':
      return { type: 'string', format: 'date-time' };
    default:
      return {};
  }
}

const orNull = (s: Json): Json => {
  if (typeof s.type === 'string') return { ...s, type: [s.type, 'null'], ...(Array.isArray(s.enum) ? { enum: [...s.enum, null] } : {}) };
  return Object.keys(s).length === 0 ? s : { anyOf: [s, { type: 'null' }] };
};

/** `full`: the field's dotted name in the record (array items share their array's). */
function typeOf(t: PathType, shape: RecordShape, full: string): Json {
  if (t.instance === 'Embedded' && t.schema) return objectOf(t.schema, shape, `${full}.`);
  if (t.instance === 'Array') {
    if (t.$isMongooseDocumentArray && t.schema) return { type: 'array', items: objectOf(t.schema, shape, `${full}.`) };
    return { type: 'array', items: scalar(t.embeddedSchemaType?.instance ?? t.caster?.instance ?? 'Mixed') };
  }
  return scalar(t.instance, t.options?.enum);
}

function objectOf(schema: Schema, shape: RecordShape, prefix: string): Json {
  const properties: Record<string, Json> = {};
  const required: string[] = [];
  const timestamps = Boolean((schema as unknown as { options: { timestamps?: unknown } }).options.timestamps);
  const nested = new Map<string, Record<string, PathType>>();
  for (const [path, raw] of Object.entries(schema.paths)) {
    const t = raw as unknown as PathType;
    const dot = path.indexOf('.');
    if (dot > 0) {
      const head = path.slice(0, dot);
      nested.set(head, { ...(nested.get(head) ?? {}), [path.slice(dot + 1)]: t });
      continue;
    }
    const full = prefix + (path === '_id' ? 'id' : path);
    if (shape.omit?.includes(full)) continue;
    const hasDefault = t.options?.default !== undefined;
    const byModel = Boolean(t.isRequired) || hasDefault || path === '_id' || (timestamps && (path === 'createdAt' || path === 'updatedAt'));
    const always = shape.required && prefix === '' ? shape.required.includes(full) : byModel;
    const nullable = shape.nullable?.includes(full) || t.options?.default === null || !(byModel || always);
    const name = path === '_id' ? 'id' : path;
    properties[name] = nullable ? orNull(typeOf(t, shape, full)) : typeOf(t, shape, full);
    if (always && !shape.optional?.includes(full)) required.push(name);
  }
  for (const [head, sub] of nested) {
    const full = prefix + head;
    if (shape.omit?.includes(full)) continue;
    const fake = { paths: sub, options: {} } as unknown as Schema;
    properties[head] = objectOf(fake, shape, `${full}.`);
    const always = shape.required && prefix === '' ? shape.required.includes(full) : true;
    if (always && !shape.optional?.includes(full)) required.push(head);
  }
  return { type: 'object', properties, required };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function recordSchemaOf(model: Model<any>, shape: RecordShape = {}): Json {
  const out = objectOf(model.schema, shape, '') as { properties: Record<string, Json>; required: string[] };
  for (const [k, v] of Object.entries(shape.extra ?? {})) {
    out.properties[k] = v;
    if (!out.required.includes(k) && !shape.optional?.includes(k)) out.required.push(k);
  }
  return { title: shape.title ?? model.modelName, ...out };
}
