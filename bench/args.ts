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
  /** Postback latency, for (e) and clicktrail, at this offered rate (req/s), besides the run at saturation; 0: skip. */
  postbackRate: number;
  /** End to end: sessions per stage (null: 8 s of the stage's rate, at least 60) and offered sessions per second (one stage per rate). */
  sessions: number | null;
  /** Reports: sessions seeded over 90 days (conversions: 3 % of them). */
  reportSessions: number;
  /** null: 0.5, 0.7 and 0.9 × baseline (d)'s ceiling when it ran, else 4, 8, 16, 32. */
  rates: number[] | null;
  /** Baseline (d): first offered rate, seconds per stage, window of each no-op session. */
  ceilingRate: number;
  ceilingSeconds: number;
  ceilingWindowMs: number;
  /** SESSION_WORKFLOW_POLICY for the clicktrail processes. */
  workflowPolicy: WorkflowPolicy;
  /** WORKER_MONGO_POOL_SIZE of the clicktrail worker; null: the application's default. */
  workerPool: number | null;
  /** Share of clicks with a bot's user agent, and of clicks repeating the previous visitor's IP (duplicates). */
  bots: number;
  duplicates: number;
  /** engine-ab: the settings to A/B, and how many times each. */
  engineAb: EngineAbName[];
  abRounds: number;
  /** Click and postback: how many times the baseline's and clicktrail's saturated runs are measured, interleaved (rounds.ts). */
  rounds: number;
  /** Upper bound, in seconds, on waiting for Temporal to catch up after a phase. */
  drainTimeout: number;
  only: Set<Phase>;
  /** Write V8 CPU profiles of the clicktrail API and worker processes. */
  profile: boolean;
  /** Server under test and load generator on CPU 0, the engine on CPU 1 (taskset); see layout.ts. */
  pin: boolean;
  /** On the engine core, how the Temporal server and the clicktrail worker yield to the database (layout.ts). */
  enginePriority: EnginePriority;
  temporalInMemory: boolean;
  outDir: string;
  /** Write results as latest.* (default) or under this name. */
  name: string;
  keepData: boolean;
}

// `reports` is not in the default run: it seeds a million sessions; `engine-ab` restarts the stack per setting.
export const PHASES = ['ceiling', 'click', 'postback', 'e2e', 'reports', 'engine-ab'] as const;
export type Phase = (typeof PHASES)[number];
export const WORKFLOW_POLICIES = ['every-click', 'skip-bots-and-duplicates'] as const;
export type WorkflowPolicy = (typeof WORKFLOW_POLICIES)[number];
export const ENGINE_PRIORITIES = ['idle', 'nice', 'equal', 'stopped'] as const;
export type EnginePriority = (typeof ENGINE_PRIORITIES)[number];
export const ENGINE_AB = ['search-attribute-cache', 'sqlite', 'shard-io', 'worker'] as const;
export type EngineAbName = (typeof ENGINE_AB)[number];

const USAGE = `usage: npm run bench -- [options]
  --duration <s>        measured seconds per click scenario and for the postback run (default 5)
  --warmup <s>          unmeasured seconds before each measured run (default 2)
  --connections <n>     concurrent connections of the load generator (default 10)
  --click-rate <r>      also measure each click scenario at this fixed offered rate, req/s (default 50; 0: skip)
  --postback-rate <r>   also measure (e) and clicktrail's postback at this fixed offered rate, req/s (default 50; 0: skip)
  --sessions <n>        end-to-end sessions per stage (default: 8 s of the stage's rate, at least 60); with --only reports: sessions seeded (default 1000000)
  --rate <r[,r…]>       end-to-end offered sessions per second, one stage per rate (default: 0.5, 0.7, 0.9 × baseline (d) rounded up, or 4,8,16,32 without it)
  --ceiling-rate <r>    baseline (d): first offered sessions/s; each next stage 1.5× until one fails (default 20)
  --ceiling-seconds <s> baseline (d): seconds per stage (default 5)
  --ceiling-window-ms <ms>  baseline (d): each no-op session's window (default 1000)
  --workflow-policy <p> SESSION_WORKFLOW_POLICY of the clicktrail processes: every-click (default) or skip-bots-and-duplicates
  --worker-pool <n>     WORKER_MONGO_POOL_SIZE of the clicktrail worker (default: the application's default)
  --bots <share>        share of clicks with a bot's user agent (default 0.05)
  --duplicates <share>  share of clicks repeating the previous visitor's IP, i.e. duplicates (default 0.05)
  --engine-ab <a[,a…]>  with --only engine-ab: settings to A/B: search-attribute-cache, sqlite, shard-io, worker (default all),
                        each on baseline (d) at 2 × --ceiling-rate for --ceiling-seconds
  --ab-rounds <n>       with --only engine-ab: times each variant runs, interleaved (default 2)
  --rounds <n>          click and postback: saturated runs of the baseline and clicktrail, interleaved; the
                        throughput targets are read on the median ratio (default 1)
  --drain-timeout <s>   longest wait for Temporal to catch up after a phase (default 360)
  --only <p[,p…]>       phases: ceiling, click, postback, e2e, reports, engine-ab (default ceiling,click,postback,e2e)
  --profile             write V8 CPU profiles of the API and worker processes (bench/results/profiles)
  --unpinned           do not pin (default: server under test and load generator on CPU 0, engine on CPU 1)
  --engine-priority <p> on the engine core, the Temporal server and the worker run: idle (SCHED_IDLE, default: the
                        database preempts them at once), nice (nice 10) or equal (as the database); stopped, an
                        experiment: as idle, and both frozen (SIGSTOP) during each measured run, so that the hot paths
                        have the engine core's database to themselves (what deferring all engine work would give)
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
      'postback-rate': { type: 'string', default: '50' },
      sessions: { type: 'string' },
      rate: { type: 'string' },
      'ceiling-rate': { type: 'string', default: '20' },
      'ceiling-seconds': { type: 'string', default: '5' },
      'ceiling-window-ms': { type: 'string', default: '1000' },
      'workflow-policy': { type: 'string', default: 'every-click' },
      'worker-pool': { type: 'string' },
      bots: { type: 'string', default: '0.05' },
      duplicates: { type: 'string', default: '0.05' },
      'engine-ab': { type: 'string', default: ENGINE_AB.join(',') },
      'ab-rounds': { type: 'string', default: '2' },
      rounds: { type: 'string', default: '1' },
      'drain-timeout': { type: 'string', default: '360' },
      only: { type: 'string', default: 'ceiling,click,postback,e2e' },
      profile: { type: 'boolean', default: false },
      unpinned: { type: 'boolean', default: false },
      'engine-priority': { type: 'string', default: 'idle' },
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
    postbackRate: num(values['postback-rate'], 'postback-rate', 0, 100_000),
    sessions: only.has('reports') && only.size === 1 ? 60 : values.sessions === undefined ? null : num(values.sessions, 'sessions', 1, 100_000),
    reportSessions: num(only.has('reports') ? (values.sessions ?? '1000000') : '1000000', 'sessions', 1000, 100_000_000),
    rates: values.rate === undefined ? null : values.rate.split(',').map((r) => num(r, 'rate', 0.1, 10_000)),
    ceilingRate: num(values['ceiling-rate'], 'ceiling-rate', 1, 10_000),
    ceilingSeconds: num(values['ceiling-seconds'], 'ceiling-seconds', 1, 120),
    ceilingWindowMs: num(values['ceiling-window-ms'], 'ceiling-window-ms', 100, 60_000),
    workflowPolicy: oneOf(values['workflow-policy'], 'workflow-policy', WORKFLOW_POLICIES),
    workerPool: values['worker-pool'] === undefined ? null : num(values['worker-pool'], 'worker-pool', 1, 1000),
    bots: num(values.bots, 'bots', 0, 1),
    duplicates: num(values.duplicates, 'duplicates', 0, 1),
    abRounds: num(values['ab-rounds'], 'ab-rounds', 1, 10),
    rounds: num(values.rounds, 'rounds', 1, 9),
    engineAb: values['engine-ab'].split(',').map((a) => oneOf(a.trim(), 'engine-ab', ENGINE_AB)),
    drainTimeout: num(values['drain-timeout'], 'drain-timeout', 1, 3600),
    only,
    profile: values.profile,
    pin: !values.unpinned,
    enginePriority: oneOf(values['engine-priority'], 'engine-priority', ENGINE_PRIORITIES),
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

function oneOf<T extends string>(raw: string, name: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) throw new UsageError(`--${name}: "${raw}" is not one of ${allowed.join(', ')}`);
  return raw as T;
}

function num(raw: string, name: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name}: "${raw}" must be a number from ${min} to ${max}`);
  return n;
}
