import { z } from 'zod';
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

function jsonSchema(schema: z.ZodType): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

/** `/campaigns/:id` → `/campaigns/{id}` */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The OpenAPI 3.1 document, generated from the routes' own zod schemas. */
export function openApiDocument(routes: readonly RouteDoc[], serverUrl: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const path = openApiPath(r.path);
    const parameters: Json[] = [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (r.query) {
      const q = jsonSchema(r.query) as { properties?: Record<string, Json>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
      }
    }
    const content: Json = { 'application/json': {} };
    for (const type of r.produces ?? []) content[type] = {};
    const op: Json = {
      tags: [r.tag],
      summary: r.summary,
      description: r.public ? 'No API key needed.' : `API key kinds: ${r.kinds.join(', ')}.`,
      operationId: `${r.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      parameters,
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } } : {}),
      responses: {
        [String(r.status)]: { description: 'OK', content },
        '400': { description: 'Invalid input; `fields` names each offending field', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        ...(r.public
          ? {}
          : {
              '401': { description: 'Missing, unknown or revoked API key', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
              '403': { description: 'This kind of key may not use this route', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
              '404': { description: 'No such record visible to this key', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
            }),
        ...(r.method === 'post' && r.status === 201 ? { '409': { description: 'A record with this id already exists', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } } : {}),
      },
      ...(r.public ? { security: [] } : {}),
    };
    paths[path] = { ...(paths[path] ?? {}), [r.method]: op };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'clicktrail management and reporting API', version: '1' },
    servers: [{ url: serverUrl }],
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' } },
      schemas: { Error: errorSchema },
    },
    paths,
  };
}
