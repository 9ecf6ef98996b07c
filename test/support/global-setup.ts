import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, freePort, startLocalStack, type LocalStack } from '../../src/local-stack/local-stack';
import { bundleWorkflows } from '../../src/temporal/worker';

// One Temporal dev server and one FerretDB (on PostgreSQL with DocumentDB) for every integration
// test file, on free loopback ports, and the workflow code bundled once. Test files find them through CT_TEST_* variables.

declare global {
  var __clicktrailStack: { stack: LocalStack; dir: string } | undefined;
}

export default async function globalSetup(): Promise<void> {
  if (!existsSync(path.join(REPO_ROOT, '.tools', 'bin', 'temporal'))) {
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'install-tools.sh')], { stdio: 'inherit' });
  }
  // Seconds when the engine is installed: it checks the installed versions and skips every build.
  execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'install-engine.sh')], { stdio: 'inherit' });
  // For the browser test (a no-op when /usr/bin/chromium is there).
  execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'install-chromium.sh')], { stdio: 'inherit' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clicktrail-test-'));
  const [temporalPort, mongoPort] = [await freePort(), await freePort()];
  const stack = await startLocalStack({
    temporalPort,
    temporalUiPort: null,
    mongoPort,
    dataDir: dir,
    temporalInMemory: true,
    log: (line) => process.env.CT_TEST_LOG && console.log(line),
  });
  globalThis.__clicktrailStack = { stack, dir };

  const bundle = await bundleWorkflows();
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, 'code' in bundle ? bundle.code : '');

  process.env.CT_TEST_TEMPORAL_ADDRESS = stack.temporalAddress;
  process.env.CT_TEST_MONGO_URI_PREFIX = stack.mongoUri('');
  process.env.CT_TEST_WORKFLOW_BUNDLE = bundlePath;
}
