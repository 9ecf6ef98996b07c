import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startLocalStack, type LocalStack } from '../../src/local-stack/local-stack';
import { testDbName } from './harness';

// A Temporal dev server (persisted to a file, so a restart keeps its workflows) and a FerretDB of
// the test file's own, for tests that stop or freeze them: doing that to the shared ones would
// break the other test files.

export interface OwnStack extends LocalStack {
  /** startTestApp's options for an app on this stack, with a database of its own. */
  appServers: { temporalAddress: string; mongoUri: string };
}

export async function startOwnStack(): Promise<OwnStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clicktrail-own-stack-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const stack = await startLocalStack({
    temporalPort: await freePort(),
    temporalUiPort: null,
    mongoPort: await freePort(),
    dataDir: dir,
    temporalInMemory: false,
    log: (line) => process.env.CT_TEST_LOG && console.log(line),
  }).catch((err: unknown) => {
    removeDir();
    throw err;
  });
  return {
    ...stack,
    appServers: { temporalAddress: stack.temporalAddress, mongoUri: stack.mongoUri(testDbName()) },
    async stop() {
      await stack.stop();
      removeDir();
    },
  };
}
