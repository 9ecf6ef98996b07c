import { eventually, get, sharedStack, startTestApp, testId, type TestApp } from '../support/harness';
import { TcpProxy } from '../support/tcp-proxy';

// /readyz names the dependency that is down, /healthz stays 200 (liveness needs no dependency).
// The app reaches the shared FerretDB and Temporal through relays this file cuts, without stopping
// them for the other test files. ROLE=api: a worker's own connection is not what /readyz checks.
// The check's deadline is generous and 'up' is awaited, not asserted on the first call: under the CI
// suite's load the shared dev server once took more than 800 ms to answer getSystemInfo, and that is
// a slow dependency, not the behaviour under test.

let app: TestApp;
let mongo: TcpProxy;
let temporal: TcpProxy;

beforeAll(async () => {
  const shared = sharedStack();
  const m = new URL(shared.mongoPrefix);
  const [tHost, tPort] = shared.temporalAddress.split(':');
  mongo = await new TcpProxy(m.hostname, Number(m.port)).start();
  temporal = await new TcpProxy(tHost!, Number(tPort)).start();
  app = await startTestApp(
    { ROLE: 'api', READINESS_TIMEOUT_MS: '4000' },
    { mongoUri: `mongodb://127.0.0.1:${mongo.port}/${testId('ct').replace('-', '_')}`, temporalAddress: `127.0.0.1:${temporal.port}` },
  );
});
afterAll(async () => {
  // Reconnected for a clean shutdown if a test left one cut (start() on a running relay fails: ignored).
  await mongo?.start().catch(() => undefined);
  await temporal?.start().catch(() => undefined);
  await app?.stop();
  await mongo?.stop();
  await temporal?.stop();
});

async function readyz(): Promise<{ status: number; body: { status: string; down: string[]; checks: Record<string, string> } }> {
  const res = await get(app.url('/readyz'));
  return { status: res.status, body: (await res.json()) as never };
}

test('200 with both up, 503 naming MongoDB while it is unreachable, 200 again once it is back', async () => {
  const up = await eventually(async () => {
    const r = await readyz();
    return r.status === 200 ? r : null;
  }, 30_000, 'both dependencies up');
  expect(up.body).toEqual({ status: 'ready', down: [], checks: { mongodb: 'up', temporal: 'up' } });

  await mongo.stop();
  const down = await eventually(async () => {
    const r = await readyz();
    return r.status === 503 && r.body.down.length === 1 ? r : null;
  }, 20_000, 'MongoDB alone reported down');
  expect(down.body).toMatchObject({ status: 'not ready', down: ['mongodb'], checks: { temporal: 'up' } });
  expect(down.body.checks.mongodb).toMatch(/^down: /);
  expect((await get(app.url('/healthz'))).status).toBe(200);

  await mongo.start();
  await eventually(async () => (await readyz()).status === 200, 30_000, 'MongoDB ready again');
});

test('503 naming Temporal while it is unreachable, 200 again once it is back', async () => {
  await temporal.stop();
  const down = await eventually(async () => {
    const r = await readyz();
    return r.status === 503 ? r : null;
  }, 20_000, 'Temporal reported down');
  expect(down.body).toMatchObject({ status: 'not ready', down: ['temporal'], checks: { mongodb: 'up' } });
  expect(down.body.checks.temporal).toMatch(/^down: /);
  expect((await get(app.url('/healthz'))).status).toBe(200);

  await temporal.start();
  await eventually(async () => (await readyz()).status === 200, 30_000, 'Temporal ready again');
});
