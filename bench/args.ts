import { parseArgs } from 'node:util';

// Every knob of a run comes from the command line (`npm run bench -- --duration 10 …`); the
// defaults keep a full run well under ten minutes on the 2-core machine.

export interface BenchArgs {
  /** Seconds of measured load per click scenario and for the postback run. */
  duration: number;
  /** Seconds of unmeasured load before each measured run. */
  warmup: number;
  connections: number;
  /** Click path latency at this offered rate (req/s), besides the run at saturation; 0: skip. */
  clickRate: number;
  /** End to end: sessions per stage and offered sessions per second (one stage per rate). */
  sessions: number;
  /** Reports: sessions seeded over 90 days (conversions: 3 % of them). */
  reportSessions: number;
  rates: number[];
  /** Upper bound, in seconds, on waiting for Temporal to catch up after a phase. */
  drainTimeout: number;
  only: Set<Phase>;
  /** Write V8 CPU profiles of the clicktrail API and worker processes. */
  profile: boolean;
  /** Pin the load generator to CPU 0 and the server under test to CPU 1 (taskset). */
  pin: boolean;
  temporalInMemory: boolean;
  outDir: string;
  /** Write results as latest.* (default) or under this name. */
  name: string;
  keepData: boolean;
}

// `reports` is not in the default run: it seeds a million sessions.
export const PHASES = ['click', 'postback', 'e2e', 'reports'] as const;
export type Phase = (typeof PHASES)[number];

const USAGE = `usage: npm run bench -- [options]
  --duration <s>        measured seconds per click scenario and for the postback run (default 5)
  --warmup <s>          unmeasured seconds before each measured run (default 2)
  --connections <n>     concurrent connections of the load generator (default 10)
  --click-rate <r>      also measure each click scenario at this fixed offered rate, req/s (default 50; 0: skip)
  --sessions <n>        end-to-end sessions per stage (default 60); with --only reports: sessions seeded (default 1000000)
  --rate <r[,r…]>       end-to-end offered sessions per second, one stage per rate (default 4,8,16,32)
  --drain-timeout <s>   longest wait for Temporal to catch up after a phase (default 180)
  --only <p[,p…]>       phases to run: click, postback, e2e, reports (default click,postback,e2e)
  --profile             write V8 CPU profiles of the API and worker processes (bench/results/profiles)
  --pin                 pin the load generator to CPU 0 and the server under test to CPU 1
  --temporal-in-memory  run the Temporal dev server without its SQLite file
  --name <name>         results file name (default latest)
  --out <dir>           results directory (default bench/results)
  --keep-data           keep the run's data directory`;

export function parseBenchArgs(argv: string[], defaultOutDir: string): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '10' },
      'click-rate': { type: 'string', default: '50' },
      sessions: { type: 'string' },
      rate: { type: 'string', default: '4,8,16,32' },
      'drain-timeout': { type: 'string', default: '180' },
      only: { type: 'string', default: 'click,postback,e2e' },
      profile: { type: 'boolean', default: false },
      pin: { type: 'boolean', default: false },
      'temporal-in-memory': { type: 'boolean', default: false },
      name: { type: 'string', default: 'latest' },
      out: { type: 'string', default: defaultOutDir },
      'keep-data': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const only = new Set(
    values.only.split(',').map((p) => {
      const phase = p.trim() as Phase;
      if (!PHASES.includes(phase)) throw new UsageError(`--only: "${p}" is not one of ${PHASES.join(', ')}`);
      return phase;
    }),
  );
  if (!/^[\w.-]+$/.test(values.name)) throw new UsageError('--name: letters, digits, dot, dash and underscore only');
  return {
    duration: num(values.duration, 'duration', 1, 600),
    warmup: num(values.warmup, 'warmup', 0, 60),
    connections: num(values.connections, 'connections', 1, 1000),
    clickRate: num(values['click-rate'], 'click-rate', 0, 100_000),
    sessions: num(only.has('reports') && only.size === 1 ? '60' : (values.sessions ?? '60'), 'sessions', 1, 100_000),
    reportSessions: num(only.has('reports') ? (values.sessions ?? '1000000') : '1000000', 'sessions', 1000, 100_000_000),
    rates: values.rate.split(',').map((r) => num(r, 'rate', 0.1, 10_000)),
    drainTimeout: num(values['drain-timeout'], 'drain-timeout', 1, 3600),
    only,
    profile: values.profile,
    pin: values.pin,
    temporalInMemory: values['temporal-in-memory'],
    outDir: values.out,
    name: values.name,
    keepData: values['keep-data'],
  };
}

export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n\n${USAGE}`);
  }
}

function num(raw: string, name: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name}: "${raw}" must be a number from ${min} to ${max}`);
  return n;
}
