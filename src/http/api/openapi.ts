import { withPortablePatterns } from './portable-pattern';
import { jsonSchemaOf, responseJsonOf } from './schemas';
import type { RouteDoc } from './route';

type Json = Record<string, unknown>;

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'string' },
    fields: { type: 'array', items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } } },
  },
};

const jsonSchema = jsonSchemaOf;

/** A route's success body as JSON Schema (a response is what the handler built: no transforms to undo). */
function responseSchema(r: RouteDoc): Json | undefined {
  return r.response ? responseJsonOf(r.response) : undefined;
}

/** Every object schema with a `title` becomes a named component (the dashboard's types use the names). */
function hoist(schema: unknown, components: Record<string, Json>): unknown {
  if (Array.isArray(schema)) return schema.map((s) => hoist(s, components));
  if (schema === null || typeof schema !== 'object') return schema;
  const walked = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, hoist(v, components)]));
  if (typeof walked.title !== 'string' || walked.type !== 'object') return walked;
  const { title, ...rest } = walked;
  const name = title as string;
  if (components[name] && JSON.stringify(components[name]) !== JSON.stringify(rest)) throw new Error(`two different response schemas are both called ${name}`);
  components[name] = rest;
  return { $ref: `#/components/schemas/${name}` };
}

const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/** The error answers a route can give, each with the one error body. */
function errors(r: RouteDoc): Json {
  const out: Json = { '400': error('The request does not match this document; `fields` names each offending field') };
  if (r.body) Object.assign(out, { '413': error('The body is larger than the route takes'), '415': error('The body is not JSON') });
  if (r.public) {
    if (r.body) Object.assign(out, { '401': error('Unknown, revoked or expired API key'), '429': error('Too many failed sign-ins from this IP (Retry-After says when to retry)') });
    return out;
  }
  return {
    ...out,
    '401': error('Missing, unknown, revoked or expired API key or session cookie'),
    '403': error('This kind of key may not use this route or set these fields, or a change made with the session cookie lacks its CSRF token'),
    '404': error('No such record visible to this key'),
    ...(r.method !== 'get' ? { '409': error('The change conflicts with the current state: the id exists already, the record is already in that state, or the action is under way') } : {}),
    '422': error('The request matches this document but a rule it cannot state refuses it: a record it names does not exist, fields that must agree do not, a time must be in the future; `fields` names each'),
    '429': error('Too many requests for this key (Retry-After says when to retry)'),
    '503': error('A dependency (database, Temporal) could not answer in time; nothing changed, retry later'),
  };
}

/** `/campaigns/:id` → `/campaigns/{id}` */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The OpenAPI 3.1 document, generated from the routes' own zod schemas. */
export function openApiDocument(routes: readonly RouteDoc[], serverUrl: string): Json {
  const paths: Record<string, Json> = {};
  const schemas: Record<string, Json> = { Error: errorSchema };
  for (const r of routes) {
    const path = openApiPath(r.path);
    const parameters: Json[] = [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (r.query) {
      const q = jsonSchema(r.query) as { properties?: Record<string, Json>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
      }
    }
    const body = responseSchema(r);
    const content: Json = { 'application/json': body ? { schema: hoist(body, schemas) } : {} };
    for (const type of r.produces ?? []) content[type] = { schema: { type: 'string' } };
    const op: Json = {
      tags: [r.tag],
      summary: r.summary,
      description: r.public ? 'No API key needed.' : `API key kinds: ${r.kinds.join(', ')}.`,
      operationId: `${r.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      parameters,
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } } : {}),
      responses: {
        [String(r.status)]: { description: r.status === 202 ? 'Accepted: handed over, under way' : r.status === 201 ? 'Created' : 'OK', content },
        ...errors(r),
      },
      ...(r.public ? { security: [] } : {}),
    };
    paths[path] = { ...(paths[path] ?? {}), [r.method]: op };
  }
  return withPortablePatterns({
    openapi: '3.1.0',
    info: { title: 'clicktrail management and reporting API', version: '1' },
    servers: [{ url: serverUrl }],
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' } },
      schemas,
    },
    paths,
  });
}
