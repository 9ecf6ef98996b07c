import autocannon from 'autocannon';

// One measured run of autocannon against a URL. Latency percentiles are computed here from
// every response's own timing (autocannon's hrtime duration, in fractional milliseconds):
// autocannon's built-in histogram rounds to whole milliseconds, too coarse for a 302.

export interface LoadOptions {
  url: string;
  connections: number;
  durationSec: number;
  /** Offered requests per second across all connections (open rate); omitted: as fast as answered. */
  overallRate?: number;
  /** A fixed number of requests instead of a duration. */
  amount?: number;
  headers?: Record<string, string>;
  /** A new path for every request (e.g. distinct transaction ids). */
  nextPath?: () => string;
  /** Headers of each request, on top of the others (e.g. the visitor's IP and user agent). */
  nextHeaders?: () => Record<string, string>;
  /** Ends the run early (the result covers what was sent until then). */
  signal?: AbortSignal;
}

export interface LoadResult {
  durationSec: number;
  overallRate?: number;
  connections: number;
  responses: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  statusCodes: Record<string, number>;
  /** Connection errors and timeouts (no HTTP answer at all). */
  errors: number;
  timeouts: number;
}

export const BROWSER_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let instance!: autocannon.Instance;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: o.url,
        connections: o.connections,
        ...(o.overallRate ? { overallRate: o.overallRate } : {}),
        ...(o.amount ? { amount: o.amount } : { duration: o.durationSec }),
        headers: { 'user-agent': BROWSER_UA, ...o.headers },
        ...(o.nextPath || o.nextHeaders
          ? {
              requests: [
                {
                  setupRequest: (req) => ({
                    ...req,
                    ...(o.nextPath ? { path: o.nextPath() } : {}),
                    ...(o.nextHeaders ? { headers: { 'user-agent': BROWSER_UA, ...o.headers, ...o.nextHeaders() } } : {}),
                  }),
                },
              ],
            }
          : {}),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, _status, _bytes, ms) => {
      latencies.push(ms);
    });
    if (o.signal?.aborted) instance.stop();
    else o.signal?.addEventListener('abort', () => instance.stop(), { once: true });
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats as Record<string, { count: number }>)) statusCodes[code] = s.count;
  const responses = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  return {
    durationSec: result.duration,
    ...(o.overallRate ? { overallRate: o.overallRate } : {}),
    connections: o.connections,
    responses,
    rps: Math.round(responses / Math.max(result.duration, 0.001)),
    latencyMs: summarize(latencies),
    statusCodes,
    errors: result.errors - result.timeouts,
    timeouts: result.timeouts,
  };
}

export function summarize(values: number[]): LoadResult['latencyMs'] {
  if (values.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(sorted[sorted.length - 1]!), mean: round(mean) };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
