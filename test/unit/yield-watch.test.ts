import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { watchYield } from '../../bench/yield-watch';

// bench/yield-watch.ts: the share of a run in which the worker's hand-over yielded, read from its
// /metrics. A loopback server stands in for the worker.

let server: Server;
let served = 0;
let url = '';

beforeAll(async () => {
  // Yielding in the first three samples, not after.
  server = createServer((_req, res) => {
    const gauge = ++served <= 3 ? 1 : 0;
    res.end(`# HELP clicktrail_handover_yielding x\n# TYPE clicktrail_handover_yielding gauge\nclicktrail_handover_yielding ${gauge}\nclicktrail_handover_yielding_other 1\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

test('the share of samples in which the gauge was 1', async () => {
  const w = watchYield(url, 5);
  while (served < 8) await new Promise((r) => setTimeout(r, 5));
  const share = await w.stop();
  expect(share).toBeCloseTo(3 / served);
});

test('null when nothing answers, or without a URL', async () => {
  expect(await watchYield(null).stop()).toBeNull();
  const w = watchYield('http://127.0.0.1:9/metrics', 10);
  await new Promise((r) => setTimeout(r, 50));
  expect(await w.stop()).toBeNull();
});
