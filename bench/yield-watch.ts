// How much of a run the hand-over spent yielding to the hot paths (src/http/hot-path-load.ts):
// the worker's `clicktrail_handover_yielding` gauge, read from its /metrics a few times a second.

const GAUGE = /^clicktrail_handover_yielding(?:\{[^}]*\})? (\S+)$/m;

export interface YieldWatch {
  /** The share of the samples in which the hand-over yielded; null when none answered. */
  stop(): Promise<number | null>;
}

export function watchYield(metricsUrl: string | null, everyMs = 250): YieldWatch {
  if (!metricsUrl) return { stop: async () => null };
  let samples = 0;
  let yielding = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(1_000) });
        const value = GAUGE.exec(await res.text())?.[1];
        if (value !== undefined) {
          samples++;
          if (Number(value) > 0) yielding++;
        }
      } catch {
        // A sample the worker did not answer in time (it runs at SCHED_IDLE): not counted either way.
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return samples ? yielding / samples : null;
    },
  };
}
