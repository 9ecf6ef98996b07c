import { managementApi } from '../../src/http/api/mounts';
import { openApiPath } from '../../src/http/api/openapi';
import { clientFor } from '../support/api-client';
import { startTestApp, type TestApp } from '../support/harness';

// The OpenAPI document against the routes express really holds: nothing undocumented, nothing
// documented that does not exist, and every documented operation reachable over HTTP.

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

function expressRoutes(stack: Layer[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      return Object.keys(layer.route.methods).filter((m) => m !== '_all' && m !== 'options').map((m) => `${m.toUpperCase()} ${openApiPath(layer.route!.path)}`);
    }
    return layer.handle?.stack ? expressRoutes(layer.handle.stack) : [];
  });
}

test('the served document and the router hold exactly the same operations', async () => {
  const res = await fetch(app.url('/api/v1/openapi.json'));
  expect(res.status).toBe(200);
  const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  expect(doc.openapi).toBe('3.1.0');
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
  const routed = [...new Set(expressRoutes((managementApi(app).router as unknown as { stack: Layer[] }).stack))].sort();
  expect(routed.length).toBeGreaterThan(30);
  expect(documented).toEqual(routed);
});

test('every documented operation is reachable under /api/v1', async () => {
  const doc = (await (await fetch(app.url('/api/v1/openapi.json'))).json()) as { paths: Record<string, Record<string, unknown>> };
  const op = await clientFor(app, 'operator');
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      const path = p.replace(/\{[^}]+\}/g, 'no-such-id');
      const res = await (method === 'get' ? op.get(path) : method === 'post' ? op.post(path, {}) : method === 'patch' ? op.patch(path, {}) : op.del(path));
      expect([method, p, res.status < 500, JSON.stringify(res.body)]).toEqual([method, p, true, expect.not.stringContaining('no route for')]);
    }
  }
});

test('bodies and query parameters are described from the zod schemas', async () => {
  const doc = (await (await fetch(app.url('/api/v1/openapi.json'))).json()) as { paths: Record<string, Record<string, { parameters: { name: string }[]; requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown>; required?: string[] } }> } }>> };
  const create = doc.paths['/campaigns']!.post!.requestBody!.content['application/json']!.schema;
  expect(Object.keys(create.properties)).toEqual(expect.arrayContaining(['id', 'advertiserId', 'landingUrl', 'events', 'targeting']));
  expect(create.required).toEqual(expect.arrayContaining(['name', 'landingUrl']));
  expect(doc.paths['/reports']!.get!.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['group_by', 'from', 'to', 'tz', 'include_bots', 'format']));
  expect(doc.paths['/campaigns/{id}']!.get!.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
});

test('a documented path answers a method it does not have with 405 and the methods it has; OPTIONS lists them', async () => {
  const op = await clientFor(app, 'operator');
  expect((await fetch(app.url('/api/v1/campaigns'), { method: 'PUT' })).status).toBe(401); // authentication comes first
  const res = await op.del('/campaigns');
  expect([res.status, res.headers.get('allow'), res.body.error]).toEqual([405, 'GET, HEAD, POST', 'DELETE is not allowed here; this path takes GET, HEAD, POST']);
  const options = await fetch(app.url('/api/v1/session'), { method: 'OPTIONS' });
  expect([options.status, options.headers.get('allow')]).toEqual([204, 'DELETE, GET, HEAD, POST']);
  expect((await op.get('/no-such-path')).status).toBe(404);
});

test('every operation declares its success body with a schema; records come from their models, pages carry their cursor', async () => {
  type Response = { content?: Record<string, { schema?: Record<string, unknown> }> };
  const doc = (await (await fetch(app.url('/api/v1/openapi.json'))).json()) as {
    paths: Record<string, Record<string, { responses: Record<string, Response> }>>;
    components: { schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> };
  };
  const missing: string[] = [];
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const [status, success] = Object.entries(op.responses).find(([s]) => s.startsWith('2'))!;
      if (!success.content?.['application/json']?.schema) missing.push(`${method} ${p} ${status}`);
      for (const [s, r] of Object.entries(op.responses)) {
        if (!s.startsWith('2') && r.content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error') missing.push(`${method} ${p} ${s} (error body)`);
      }
    }
  }
  expect(missing).toEqual([]);
  const list = doc.paths['/campaigns']!.get!.responses['200']!.content!['application/json']!.schema!;
  expect(list).toMatchObject({ required: ['data', 'next_cursor'], properties: { data: { items: { $ref: '#/components/schemas/Campaign' } }, next_cursor: { type: ['string', 'null'] } } });
  const campaign = doc.components.schemas.Campaign!;
  expect(Object.keys(campaign.properties)).toEqual(expect.arrayContaining(['id', 'advertiserId', 'events', 'targeting', 'providers', 'createdAt', 'updatedAt']));
  // What some kinds of key do not see is not required: publishers do not get the allowlist.
  expect(campaign.required).toEqual(expect.arrayContaining(['id', 'name', 'landingUrl', 'events']));
  expect(campaign.required).not.toContain('allowedPublisherIds');
  expect(Object.keys(doc.components.schemas.ApiKey!.properties)).not.toContain('hash');
  expect(doc.paths['/reports']!.get!.responses['200']!.content).toMatchObject({ 'application/json': { schema: { $ref: '#/components/schemas/Report' } }, 'text/csv': { schema: { type: 'string' } } });
});
