import { hostname } from 'node:os';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';

/** The window: short, so that the hand-over hears of a press within a second of its start (with its own read, handover.ts). */
export const HOT_PATH_WINDOW_MS = 250;

/** A window's load counts as pressed only with at least this many hot-path requests in flight on average. */
export const PRESSED_IN_FLIGHT = 4;

export interface LoadWindow {
  /** Hot-path requests in flight on average over the window (Little's law: their time answering / the window). */
  inFlight: number;
  /** Their mean time to answer, ms. */
  meanMs: number;
  pressed: boolean;
  /** Pressed now and not in the window before, or the other way round. */
  changed: boolean;
}

/**
 * How hard the click, pixel and postback requests of this process press on what they wait for, a
 * window (a quarter of a second) at a time. Pressed is busy and slow at once: at least PRESSED_IN_FLIGHT
 * requests in flight on average, taking `slowMs` or more each. A fast database serving much
 * traffic is not pressed, nor is a slow one serving little (the end-to-end phase of the bench,
 * where the engine is the bottleneck and must not be slowed). Once pressed, it stays so until the
 * load is half that or the answers twice as fast: the yield it asks for makes them faster, and
 * must not end because it works.
 */
export class HotPathLoad {
  private busyMs = 0;
  private answered = 0;
  private windowStart: number;
  private pressed = false;

  constructor(
    private readonly slowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.windowStart = now();
  }

  /** A hot-path request answered after `ms`. */
  observe(ms: number): void {
    this.busyMs += ms;
    this.answered++;
  }

  /** Ends the current window and says how it went. */
  closeWindow(): LoadWindow {
    const t = this.now();
    const inFlight = this.busyMs / Math.max(1, t - this.windowStart);
    const meanMs = this.answered ? this.busyMs / this.answered : 0;
    this.busyMs = 0;
    this.answered = 0;
    this.windowStart = t;
    const was = this.pressed;
    const scale = was ? 0.5 : 1;
    this.pressed = this.slowMs > 0 && inFlight >= PRESSED_IN_FLIGHT * scale && meanMs >= this.slowMs * scale;
    return { inFlight, meanMs, pressed: this.pressed, changed: this.pressed !== was };
  }
}

/**
 * Closes a window every `windowMs`; while pressed, asks the hand-over (through MongoDB) to yield
 * until three windows from now, so that a steady press is one unbroken request. The hand-over's
 * workflow starts and its reads of the logs then wait their turn: the redirects are answered
 * first, the engine catches up after (its lag is measured).
 */
export function reportHotPathLoad(
  load: HotPathLoad,
  o: { windowMs: number; report: (host: string, until: Date) => Promise<void>; metrics: Metrics; log: Logger },
): { stop(): void } {
  const host = hostname();
  const timer = setInterval(() => {
    const w = load.closeWindow();
    o.metrics.hotPathPressed.set(w.pressed ? 1 : 0);
    if (w.changed) o.log.info({ inFlight: Number(w.inFlight.toFixed(1)), meanMs: Math.round(w.meanMs) }, w.pressed ? 'hot paths pressed: the hand-over is asked to yield' : 'hot paths no longer pressed');
    if (w.pressed) o.report(host, new Date(Date.now() + 3 * o.windowMs)).catch((err: unknown) => o.log.debug({ err: String(err) }, 'could not ask the hand-over to yield'));
  }, o.windowMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
