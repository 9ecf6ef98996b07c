/**
 * Which postbacks the session's notifying step may send itself. That step runs inside the session's
 * workflow task, which holds one of the worker's workflow-task slots while it waits: an endpoint
 * that hangs until the delivery timeout must not take them all. So, per worker process:
 * - at most `perEndpoint` first attempts in flight to one endpoint and `total` in all;
 * - after an endpoint failed, or answered slower than `slowMs`, its next first attempts are left to
 *   delivery workflows (regular activities, their own slots) for the cool-down the attempt names
 *   (the delivery policy's first retry interval: while the endpoint's retries wait, so do new postbacks).
 * An endpoint is the URL without its query: a publisher's or provider's postback address.
 */
export interface FirstAttemptGateOptions {
  perEndpoint: number;
  total: number;
  slowMs: number;
  now?: () => number;
}

export type Release = (outcome: { ok: boolean; latencyMs: number; coolDownMs: number }) => void;

export class FirstAttemptGate {
  private readonly inFlight = new Map<string, number>();
  private readonly coolingUntil = new Map<string, number>();
  private total = 0;
  private readonly now: () => number;

  constructor(private readonly opts: FirstAttemptGateOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A release to call when the attempt is over, or null: leave this delivery to its workflow. */
  tryAcquire(url: string): Release | null {
    const endpoint = endpointOf(url);
    const until = this.coolingUntil.get(endpoint);
    if (until !== undefined) {
      if (this.now() < until) return null;
      this.coolingUntil.delete(endpoint);
    }
    const n = this.inFlight.get(endpoint) ?? 0;
    if (n >= this.opts.perEndpoint || this.total >= this.opts.total) return null;
    this.inFlight.set(endpoint, n + 1);
    this.total++;
    let released = false;
    return ({ ok, latencyMs, coolDownMs }) => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.inFlight.get(endpoint) ?? 1) - 1;
      if (left > 0) this.inFlight.set(endpoint, left);
      else this.inFlight.delete(endpoint);
      if (!ok || latencyMs > this.opts.slowMs) this.coolDown(endpoint, coolDownMs);
    };
  }

  private coolDown(endpoint: string, ms: number): void {
    const now = this.now();
    // Endpoints that failed once and were never posted to again are forgotten, not kept for ever.
    if (this.coolingUntil.size >= MAX_COOLING) for (const [e, until] of this.coolingUntil) if (until <= now) this.coolingUntil.delete(e);
    if (this.coolingUntil.size < MAX_COOLING) this.coolingUntil.set(endpoint, now + ms);
  }
}

const MAX_COOLING = 10_000;

export function endpointOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url.split(/[?#]/)[0]!;
  }
}
