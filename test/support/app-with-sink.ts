import { createFixture, type Fixture } from './fixtures';
import { startTestApp, stopAll, type TestApp } from './harness';
import { HttpSink } from './http-sink';

// What most test files start in beforeAll: a sink standing in for publishers and providers, an
// app, and (startWithFixture) a fixture whose postbacks and notifications go to the sink. A start
// that fails stops what it had started, since the test file's afterAll never sees it.

export async function startWithSink(...args: Parameters<typeof startTestApp>): Promise<{ app: TestApp; sink: HttpSink }> {
  const sink = await new HttpSink().start();
  try {
    return { app: await startTestApp(...args), sink };
  } catch (err) {
    await sink.stop();
    throw err;
  }
}

export async function startWithFixture(...args: Parameters<typeof startTestApp>): Promise<{ app: TestApp; sink: HttpSink; f: Fixture }> {
  const { app, sink } = await startWithSink(...args);
  try {
    return { app, sink, f: await createFixture({ sinkUrl: sink.url }) };
  } catch (err) {
    await stopAll(app, sink);
    throw err;
  }
}
