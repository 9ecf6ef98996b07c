import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AppDeps } from '../app';
import { loadConfig } from '../config';
import { managementApi } from '../http/api/mounts';
import { createLogger } from '../log';

// Writes the API's OpenAPI document (what GET /api/v1/openapi.json answers) to a file, without a
// server or a database: `npm run api-types` turns it into the dashboard's types (openapi-typescript).

const out = process.argv[2];
if (!out) {
  console.error('usage: tsx src/cli/openapi.ts <output.json>');
  process.exit(2);
}
// The defaults, not this machine's environment: the document's shapes do not depend on it, and a
// build (the Docker image's, NODE_ENV=production without its secrets) must not need one.
const config = loadConfig({ NODE_ENV: 'development' });
// Building the routers reads only the configuration; the cache, Temporal and metrics are used per request.
const deps = { config, log: createLogger('silent') } as AppDeps;
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(managementApi(deps).document, null, 2)}\n`);
