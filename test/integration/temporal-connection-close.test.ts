import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionClient } from '../../src/temporal/session-client';

// A call that meets a retryable error waits on a timer for its next attempt. Closing the connection
// in that wait once made the timer throw "Channel has been shut down", uncaught, which failed a CI
// run's test file at its teardown; the same would kill an API process stopping under a Temporal outage.

async function refusedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return `127.0.0.1:${port}`;
}

test('closing while a call waits to retry ends that call, and no retry runs after the close', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const delivery = { initialIntervalMs: 100, maximumIntervalMs: 400, maximumAttempts: 5, timeoutMs: 2_000 };
    const temporal = SessionClient.lazy({ address: await refusedAddress(), namespace: 'default', taskQueue: 'none', delivery });
    const call = temporal.ping(20_000).then(() => 'answered', (err: unknown) => err);
    // Each refused attempt is retried after 100 ms, then 200, 400, 800...: some retry is waiting now.
    await sleep(400);
    await temporal.close();
    const outcome = await call;
    expect(outcome).toBeInstanceOf(Error);
    expect(String(outcome)).toMatch(/CANCELLED|connection is closed/);
    // Long enough for any retry timer scheduled before the close to fire.
    await sleep(3_000);
    expect(uncaught).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
}, 30_000);
