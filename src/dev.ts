import path from 'node:path';
import { z } from 'zod';
import { startApp } from './app';
import { ConfigError, formatIssues, loadConfig } from './config';
import { managementMounts } from './http/api/mounts';
import { LocalStackError, REPO_ROOT, startLocalStack } from './local-stack/local-stack';
import { createLogger } from './log';
import { onShutdown } from './main';
import { DASHBOARD_PREFIX } from './http/dashboard';
import { demoOperatorKey, demoUrls, seedDemo } from './seed/demo';

// `npm start`: clicktrail with its embedded local stack (Temporal dev server + FerretDB on
// PostgreSQL/DocumentDB), the API and the worker in one process, a demo campaign, and ready URLs
// printed. With MONGODB_URI set, that MongoDB is used and no local database is started.

const localSchema = z.object({
  LOCAL_TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  LOCAL_TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  LOCAL_MONGO_PORT: z.coerce.number().int().min(1).max(65535).default(27017),
  LOCAL_DATA_DIR: z.string().default(path.join(REPO_ROOT, '.data')),
});

async function dev(): Promise<void> {
  const parsed = localSchema.safeParse(process.env);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration:\n${formatIssues(parsed.error.issues, process.env)}`);
  }
  const local = parsed.data;
  // Validate the app's own variables before starting anything.
  const base = loadConfig();
  const log = createLogger(base.LOG_LEVEL);
  const ownMongo = !process.env.MONGODB_URI;
  const stack = await startLocalStack({
    temporalPort: local.LOCAL_TEMPORAL_PORT,
    temporalUiPort: local.LOCAL_TEMPORAL_UI_PORT,
    mongoPort: ownMongo ? local.LOCAL_MONGO_PORT : null,
    dataDir: local.LOCAL_DATA_DIR,
    log: (line) => log.info(line),
  });
  try {
    const config = loadConfig({
      ...process.env,
      ROLE: 'all',
      // The demo campaign lands on these pages and posts back to the sink.
      DEMO_ROUTES: 'true',
      TEMPORAL_ADDRESS: stack.temporalAddress,
      MONGODB_URI: ownMongo ? stack.mongoUri('clicktrail') : base.MONGODB_URI,
      TEMPORAL_UI_URL: stack.temporalUiUrl ?? base.TEMPORAL_UI_URL,
      // The demo's postback sinks are served by clicktrail itself, on loopback.
      OUTBOUND_ALLOW_NETWORKS: process.env.OUTBOUND_ALLOW_NETWORKS ?? '127.0.0.0/8,::1',
    });
    const app = await startApp(config, { log, mounts: managementMounts });
    onShutdown(log, async () => {
      await app.stop();
      await stack.stop();
    });
    const baseUrl = config.PUBLIC_BASE_URL.replace(/\/$/, '');
    const { postbackToken } = await seedDemo(baseUrl);
    console.log('\nclicktrail is running. Ctrl-C stops everything.\n');
    for (const [label, url] of Object.entries(demoUrls(baseUrl, postbackToken, stack.temporalUiUrl))) {
      console.log(`${label}: ${url}`);
    }
    console.log(`Dashboard: ${baseUrl}${DASHBOARD_PREFIX}/`);
    console.log(`Demo operator key (sign in with it; replaced at each start): ${await demoOperatorKey()}`);
    console.log('');
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

dev().catch((err) => {
  console.error(err instanceof ConfigError || err instanceof LocalStackError ? err.message : err);
  process.exit(1);
});
