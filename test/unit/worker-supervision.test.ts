import { Writable } from 'node:stream';
import pino from 'pino';
import { superviseWorker } from '../../src/app';

// Review #11: a worker whose run() fails by itself stops the process (non-zero exit) with a log
// line, instead of an unhandled rejection; a worker we stop ourselves does not.

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(String(chunk))); cb(); } }));
  return { log, lines };
}

test('a worker that fails by itself is logged as fatal and stops the process', async () => {
  const { log, lines } = capture();
  const failed = new Promise<unknown>((resolve) => {
    superviseWorker(Promise.reject(new Error('poller failed: namespace gone')), { log, stopping: () => false, onFailure: resolve });
  });
  expect(await failed).toEqual(new Error('poller failed: namespace gone'));
  expect(lines).toEqual([expect.objectContaining({ level: 60, msg: 'Temporal worker failed; stopping the process', err: 'Error: poller failed: namespace gone' })]);
});

test('a worker stopped on purpose ends quietly', async () => {
  const { log, lines } = capture();
  const onFailure = jest.fn();
  const running = Promise.reject(new Error('shut down'));
  superviseWorker(running, { log, stopping: () => true, onFailure });
  await running.catch(() => undefined);
  await new Promise((r) => setImmediate(r));
  expect(onFailure).not.toHaveBeenCalled();
  expect(lines).toEqual([]);
});
