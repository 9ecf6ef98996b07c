import { eventually, get, sharedStack, startTestApp, testId, type TestApp } from '../support/harness';
import { TcpProxy } from '../support/tcp-proxy';

// /readyz names the dependency that is down, /healthz stays 200 (liveness needs no dependency).
// The app reaches the shared FerretDB and Temporal through relays this file cuts, without stopping
// them for the other test files. ROLE=api: a worker's own connection is not what /readyz checks.

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
    { ROLE: 'api', READINESS_TIMEOUT_MS: '800' },
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
  expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', down: [], checks: { mongodb: 'up', temporal: 'up' } } });

  await mongo.stop();
  const down = await readyz();
  expect(down.status).toBe(503);
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
