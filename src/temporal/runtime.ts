import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogEntry, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../log';

/**
 * The Temporal SDK's runtime, once per process: its logs (the TypeScript side and, forwarded, the
 * native core's) go through pino as JSON like every other line, and its metrics (`temporal_*`)
 * are served for Prometheus when a bind address is given.
 */
export function installRuntime(opts: { log: Logger; level: string; metricsBindAddress?: string }): void {
  if (Runtime._instance) return;
  // The SDK's INFO lines (bundler output, state changes) drown ours: WARN at most unless debugging.
  const sdkLevel: LogLevel = opts.level === 'trace' ? 'TRACE' : opts.level === 'debug' ? 'DEBUG' : opts.level === 'info' || opts.level === 'warn' ? 'WARN' : 'ERROR';
  Runtime.install({
    logger: new DefaultLogger(sdkLevel, (entry) => forward(opts.log, entry)),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: sdkLevel, other: 'ERROR' }), forward: {} },
      ...(opts.metricsBindAddress ? { metrics: { prometheus: { bindAddress: opts.metricsBindAddress } } } : {}),
    },
    // No shutdownSignals: the app drains HTTP first, then stops the worker itself.
    shutdownSignals: [],
  });
}

const LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * One SDK log entry as one pino line. An error below ERROR (a failed delivery attempt, retried
 * by Temporal) is its type and message, not a 30-line stack: the attempt's reason is what matters.
 */
export function forward(log: Logger, entry: LogEntry): void {
  const level = LEVELS[entry.level];
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry.meta ?? {})) {
    if (v instanceof Error) {
      fields.err = level === 'error' ? v : `${failureType(v)}: ${v.message}`;
    } else {
      fields[k] = v;
    }
  }
  log[level](fields, entry.message);
}

function failureType(err: Error): string {
  const type = (err as { type?: unknown }).type;
  return typeof type === 'string' ? type : err.name;
}
