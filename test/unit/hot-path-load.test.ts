import { HotPathLoad, PRESSED_IN_FLIGHT, reportHotPathLoad } from '../../src/http/hot-path-load';
import { createLogger } from '../../src/log';
import { Metrics } from '../../src/metrics';

// src/http/hot-path-load.ts: when the hot paths ask the hand-over to yield. A window is pressed
// when busy and slow at once, and stays pressed until the load halves or the answers get twice as fast.

function meter(slowMs = 10) {
  let t = 0;
  const load = new HotPathLoad(slowMs, () => t);
  /** One window of `ms` in which `n` requests were answered after `each` ms. */
  const windowOf = (n: number, each: number, ms = 1_000) => {
    for (let i = 0; i < n; i++) load.observe(each);
    t += ms;
    return load.closeWindow();
  };
  return { windowOf };
}

test('in flight is the time spent answering over the window, the mean is per answer', () => {
  const w = meter().windowOf(500, 12);
  expect(w.inFlight).toBeCloseTo(6);
  expect(w.meanMs).toBeCloseTo(12);
  expect(w.pressed).toBe(true);
});

test('busy but fast, or slow but idle, is not pressed', () => {
  // 2000 answers a second at 3 ms: six in flight, a database keeping up.
  expect(meter().windowOf(2_000, 3).pressed).toBe(false);
  // 40 answers a second at 30 ms: slow, but the traffic is light (the engine is the bottleneck).
  expect(meter().windowOf(40, 30).pressed).toBe(false);
  expect(meter().windowOf(0, 0).pressed).toBe(false);
});

test('just under either threshold is not pressed, at both it is', () => {
  const slow = 10;
  const n = PRESSED_IN_FLIGHT * 100;
  expect(meter(slow).windowOf(n, slow - 0.1).pressed).toBe(false);
  expect(meter(slow).windowOf(n - 1, slow).pressed).toBe(false);
  expect(meter(slow).windowOf(n, slow).pressed).toBe(true);
});

test('once pressed it stays so until the load halves or the answers are twice as fast', () => {
  const m = meter(10);
  expect(m.windowOf(600, 12)).toMatchObject({ pressed: true, changed: true });
  // The yield worked: answers at 7 ms, still busy: stays pressed.
  expect(m.windowOf(700, 7)).toMatchObject({ pressed: true, changed: false });
  // Twice as fast as the threshold: released.
  expect(m.windowOf(700, 4.9)).toMatchObject({ pressed: false, changed: true });
  // Released, the first threshold applies again.
  expect(m.windowOf(700, 7).pressed).toBe(false);
  expect(m.windowOf(600, 12).pressed).toBe(true);
  // The traffic went away: released.
  expect(m.windowOf(100, 12).pressed).toBe(false);
});

test('0 ms never presses (HOT_PATH_YIELD_MS=0)', () => {
  expect(meter(0).windowOf(10_000, 50).pressed).toBe(false);
});

describe('reportHotPathLoad', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  test('asks, every pressed window, for three windows more; says nothing otherwise; stops', async () => {
    const load = new HotPathLoad(10);
    const asked: number[] = [];
    const metrics = new Metrics({ waiting: false });
    const r = reportHotPathLoad(load, { windowMs: 1_000, report: async (_host, until) => void asked.push(until.getTime()), metrics, log: createLogger('silent') });
    for (let i = 0; i < 600; i++) load.observe(12);
    jest.advanceTimersByTime(1_000);
    expect(asked).toEqual([1_001_000 + 3_000]);
    expect((await metrics.hotPathPressed.get()).values[0]?.value).toBe(1);
    // A quiet window: released, nothing asked.
    jest.advanceTimersByTime(1_000);
    expect(asked).toHaveLength(1);
    expect((await metrics.hotPathPressed.get()).values[0]?.value).toBe(0);
    r.stop();
    for (let i = 0; i < 600; i++) load.observe(12);
    jest.advanceTimersByTime(5_000);
    expect(asked).toHaveLength(1);
  });
});
