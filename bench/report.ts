import type { BenchArgs } from './args';
import { cpuMsPer, type CpuUsage } from './cpu';
import type { CeilingPhaseResult } from './phase-ceiling';
import type { EngineAbResult } from './phase-engine-ab';
import { renderTargets } from './targets';
import { loadConfig } from '../src/config';
import type { Environment } from './environment';
import type { ClickPhaseResult } from './phase-click';
import type { EndToEndStage } from './phase-e2e';
import { totalWrites, type WritesPerRequest } from './db-writes';
import type { PostbackPhaseResult } from './phase-postback';
import type { ReportsPhaseResult } from './phase-reports';
import type { Rounds } from './rounds';
import type { HotRun } from './context';

// One result, two renderings: the JSON keeps everything; the Markdown (also printed at the end
// of a run) is the table people read.

export interface BenchResults {
  environment: Environment;
  command: string;
  args: Omit<BenchArgs, 'only' | 'outDir'> & { only: string[] };
  /** Which process ran on which core (layout.ts). */
  layout: string;
  totalSec: number;
  ceiling?: CeilingPhaseResult;
  engineAb?: EngineAbResult[];
  click?: ClickPhaseResult;
  postback?: PostbackPhaseResult;
  endToEnd?: EndToEndStage[];
  reports?: ReportsPhaseResult;
  /** The hot paths' measured runs in order, with autovacuum's work meanwhile (context.ts). */
  hotRuns?: HotRun[];
  failures: string[];
}


function renderReports(x: ReportsPhaseResult): string[] {
  const out = [
    `## Reports (${x.sessions.toLocaleString('en-US')} sessions and ${x.conversions.toLocaleString('en-US')} conversions over 90 days)`,
    '',
    `Seeded in ${x.seedSec.toFixed(1)} s (bulk inserts); rollups rebuilt from them in ${x.rebuildSec.toFixed(1)} s (${x.rollupDocs} documents). Each report ${x.timings[0]?.samples ?? 0} times in a row through the API after 3 warmups, while clicks were written at ${x.clicks.overallRate ?? '?'}/s through the click path (${x.clicks.responses} clicks, p99 ${x.clicks.latencyMs.p99} ms). Target: p99 ≤ 300 ms.`,
    '',
    '| report | key | p50 ms | p99 ms | max ms | rows | source |',
    '|---|---|---:|---:|---:|---:|---|',
    ...x.timings.map((t) => `| ${t.name} | ${t.key} | ${t.p50} | ${t.p99} | ${t.max} | ${t.rows} | ${t.source} |`),
    '',
    'Where the time went, by the server\'s own account (`Server-Timing`): p50 of the API key\'s lookup, of the report\'s database reads, of the whole fact loading (reads and summing), of building the rows; the slowest answer split the same way (total as the client saw it); autovacuum\'s share of the seconds the report was timed, and what it worked on.',
    '',
    '| report | key | reads (last answer) | auth p50 | db p50 | facts p50 | build p50 | slowest: total / auth / db / facts / build | autovacuum |',
    '|---|---|---|---:|---:|---:|---:|---|---|',
    ...x.timings.map(
      (t) =>
        `| ${t.name} | ${t.key} | ${t.server?.documents ?? '?'} | ${t.server?.authP50 ?? '?'} | ${t.server?.dbP50 ?? '?'} | ${t.server?.factsP50 ?? '?'} | ${t.server?.buildP50 ?? '?'} | ${t.slowest ? `${t.slowest.ms} / ${t.slowest.auth} / ${t.slowest.db} / ${t.slowest.facts} / ${t.slowest.build}` : '?'} | ${t.autovacuum ? `${Math.round(t.autovacuum.busyShare * 100)}%${t.autovacuum.work.length ? `: ${t.autovacuum.work.join('; ')}` : ''}` : '?'} |`,
    ),
    '',
    `Rollup writer: ${x.writerMsPerClick ?? 'n/a'} ms of writer work per click (two quarter-hours holding ${x.writerQuarterClicks} clicks recomputed with every block above them, as a tick does); the click path itself writes nothing more.`,
    '',
  ];
  return out;
}

export function renderMarkdown(r: BenchResults): string {
  const e = r.environment;
  const out: string[] = [];
  const abOnly = r.args.only.every((p) => p === 'engine-ab');
  out.push(`# clicktrail benchmark, ${e.date.slice(0, 16).replace('T', ' ')} UTC`, '');
  out.push(
    `- Machine: ${e.cores} cores (${e.cpuModel}), ${e.memoryGiB} GiB; Node ${e.node}`,
    `- Versions: ${Object.entries(e.packages).map(([k, v]) => `${k} ${v}`).join(', ')}; Temporal CLI ${e.temporalCli}; database (clicktrail and the MongoDB-only baseline alike) ${e.engine.name} (${Object.entries(e.engine.versions).map(([k, v]) => `${k} ${v}`).join(', ')}), a PostgreSQL cluster of the run's own; commit ${e.commit}`,
    `- Command: \`${r.command}\` (${r.totalSec} s in all)`,
    `- Processes: the bench process (load generator, postback sink), the server under test, the clicktrail worker (\`SESSION_WORKFLOW_POLICY=${r.args.workflowPolicy}\`, \`WORKER_MONGO_POOL_SIZE=${r.args.workerPool ?? `${loadConfig({}).WORKER_MONGO_POOL_SIZE} (default)`}\`), the Temporal dev server${r.args.temporalInMemory ? ' (in memory)' : ' (SQLite file)'} and FerretDB with its PostgreSQL server, each its own process. Latencies are measured by the load generator per response (hrtime), warmup of ${r.args.warmup} s excluded.`,
    `- Cores: ${r.layout}.`,
    ...(abOnly ? [] : [`- Traffic: each click from its own visitor IP (X-Forwarded-For, loopback trusted as the proxy), ${pct(r.args.bots)} with a bot's user agent, ${pct(r.args.duplicates)} repeating the previous visitor's IP (duplicates); the same visitors for (a), (b) and (c).`]),
    '',
  );
  if (r.engineAb?.length) out.push(...renderEngineAb(r.engineAb));
  if (r.ceiling) out.push(...renderCeiling(r.ceiling));

  if (r.reports) out.push(...renderReports(r.reports));
  if (r.click) {
    const c = r.click;
    const first = c.scenarios[0]!.load;
    out.push(`## Click path (${first.durationSec} s, ${first.connections} connections, autocannon)`, '');
    out.push('| scenario | req/s | p50 ms | p90 ms | p99 ms | max ms | non-302 or errors |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const s of c.scenarios) {
      const l = s.load.latencyMs;
      out.push(`| ${s.label} | ${s.load.rps} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} | ${s.bad} |`);
    }
    const fixed = c.scenarios.filter((s) => s.atFixedRate);
    if (fixed.length) {
      out.push('', `At a fixed offered rate of ${fixed[0]!.atFixedRate!.load.overallRate} req/s (same connections and duration, run before the saturating one):`, '');
      out.push('| scenario | req/s answered | p50 ms | p90 ms | p99 ms | max ms | non-302 or errors |', '|---|---:|---:|---:|---:|---:|---:|');
      for (const s of fixed) {
        const f = s.atFixedRate!;
        const l = f.load.latencyMs;
        out.push(`| ${s.label} | ${f.load.rps} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} | ${f.bad} |`);
      }
    }
    out.push('', `Ratios: c/a throughput **${c.ratios.rpsCoverA}**, p99 ${c.ratios.p99CoverA}×; c/b throughput **${c.ratios.rpsCoverB}**, p99 ${c.ratios.p99CoverB}×.`, '');
    out.push(...roundsTable('(b) MongoDB-only tracker', '(c) clicktrail', c.rounds));
    const w = c.workflows;
    out.push(
      `Session workflows (started after each 302, asynchronously): ${w.redirects} clicks answered (warmup included), ${w.atEndOfLoad.sessionsStored} sessions stored, ` +
        `${w.atEndOfLoad.workflowsStarted} workflows started by the end of the load (~${w.startedPerSecDuringLoad}/s during it); ` +
        (w.drained
          ? `the backlog was gone ${w.drainSec} s after the load (${w.afterDrain.workflowsStarted} started; ` +
            `${Math.round((w.afterDrain.workflowsStarted - w.atEndOfLoad.workflowsStarted) / Math.max(w.drainSec, 0.1))} workflows/s after the load).`
          : `**${w.afterDrain.sessionsStored - w.afterDrain.workflowsStarted} still not started ${w.drainSec} s after the load**.`),
      '',
      ...(c.rollupWriter
        ? [
            `Report rollups: ${c.rollupWriter.msPerClick ?? 'n/a'} ms of rollup writer work per click (the two latest quarter-hours, holding ${c.rollupWriter.clicks} clicks, recomputed with every block above them, as the writer does once each has settled; wall time, database included); the click path itself writes nothing more.`,
            '',
          ]
        : []),
    );
    const written = c.scenarios.flatMap((x) => (x.dbWrites ? [[x.label, x.dbWrites] as const] : []));
    if (written.length === 2) {
      out.push(
        ...dbWritesSection(
          'click',
          'per click redirected, from the first request of the scenario to its end (for clicktrail, to the last workflow started), so the work a click leaves to the engine is counted too',
          written,
        ),
      );
    }
  }

  if (r.postback) {
    const p = r.postback;
    const l = p.load.latencyMs;
    out.push(`## Postback endpoint (${p.load.durationSec} s, ${p.load.connections} connections, ${p.poolSessions} click ids, distinct txids)`, '');
    out.push('| endpoint | req/s | p50 ms | p90 ms | p99 ms | max ms | non-202 or errors |', '|---|---:|---:|---:|---:|---:|---:|');
    const e = p.baseline.load.latencyMs;
    out.push(`| (e) MongoDB-only postback (lookup by id, one insert) | ${p.baseline.load.rps} | ${e.p50} | ${e.p90} | ${e.p99} | ${e.max} | ${p.baseline.bad} |`);
    out.push(`| clicktrail GET /postback (sale, amount, token) | ${p.load.rps} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} | ${p.bad} |`, '');
    out.push(`Throughput clicktrail / (e): **${Math.round((p.load.rps / p.baseline.load.rps) * 100) / 100}**, p99 ${Math.round((l.p99 / e.p99) * 100) / 100}×.`, '');
    out.push(...roundsTable('(e) MongoDB-only postback', 'clicktrail', p.rounds));
    if (p.atFixedRate && p.baseline.atFixedRate) {
      const [fe, fc] = [p.baseline.atFixedRate, p.atFixedRate];
      out.push(`At a fixed offered rate of ${r.args.postbackRate} req/s (same connections and duration, run before the saturating one):`, '');
      out.push('| endpoint | req/s answered | p50 ms | p90 ms | p99 ms | max ms | non-202 or errors |', '|---|---:|---:|---:|---:|---:|---:|');
      for (const [name, f] of [['(e) MongoDB-only postback', fe], ['clicktrail GET /postback', fc]] as const) {
        const q = f.load.latencyMs;
        out.push(`| ${name} | ${f.load.rps} | ${q.p50} | ${q.p90} | ${q.p99} | ${q.max} | ${f.bad} |`);
      }
      out.push('', `Latency clicktrail / (e) at ${r.args.postbackRate} req/s: p50 ${Math.round((fc.load.latencyMs.p50 / fe.load.latencyMs.p50) * 100) / 100}×, p99 ${Math.round((fc.load.latencyMs.p99 / fe.load.latencyMs.p99) * 100) / 100}×.`, '');
    }
    out.push(
      `${p.answered202} answered 202 (warmup included); ${p.accepted} accepted by clicktrail per its inbound log (the rest were in flight when the load stopped), ${p.queued} of them not yet signalled to their workflow as the load ended (past the hand-over's cursor in the inbound log, or in a claim not finished); by the end of the load ${p.atEndOfLoad.conversionsRecorded} were recorded and ${p.atEndOfLoad.postbacksReceived} publisher postbacks delivered; ` +
        (p.drained ? `all recorded and delivered ${p.drainSec} s later.` : `**after ${p.drainSec} s more: ${p.afterDrain.conversionsRecorded} recorded, ${p.afterDrain.postbacksReceived} delivered**.`),
      '',
    );
    if (p.dbWrites && p.baseline.dbWrites) {
      out.push(
        ...dbWritesSection(
          'postback',
          'for (e) per request answered, for clicktrail per accepted conversion, from its first postback until every conversion was recorded and delivered, so the engine\'s writes for them are included',
          [
            ['(e) MongoDB-only postback', p.baseline.dbWrites],
            ['clicktrail', p.dbWrites],
          ],
        ),
      );
    }
  }

  if (r.endToEnd?.length) {
    out.push(`## End to end (click → postback → publisher postback delivered)`, '');
    out.push(
      '| offered sessions/s | sessions | sustained sessions/s | click p50 / p99 ms | postback p50 / p99 ms | click→delivery p50 ms | p99 ms | max ms | hand-over yielding | loss |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const s of r.endToEnd) {
      out.push(
        `| ${s.offeredRate} | ${s.sessions} | ${s.sustainedPerSec} | ${s.clickLatencyMs.p50} / ${s.clickLatencyMs.p99} | ${s.postbackLatencyMs.p50} / ${s.postbackLatencyMs.p99} | ${s.deliveryLatencyMs.p50} | ${s.deliveryLatencyMs.p99} | ${s.deliveryLatencyMs.max} | ${s.handoverYielding === null || s.handoverYielding === undefined ? '?' : `${Math.round(s.handoverYielding * 100)}%`} | ${s.lossless ? 'none' : '**LOSS**'} |`,
      );
    }
    const kept = r.endToEnd.filter((s) => s.lossless && s.sustainedPerSec >= 0.9 * s.offeredRate);
    const best = kept.length ? Math.max(...kept.map((s) => s.offeredRate)) : null;
    out.push(
      '',
      best === null
        ? 'No stage kept up with its offered rate without loss.'
        : `Highest offered rate sustained with zero loss (deliveries at ≥ 90% of the offered rate): **${best} sessions/s**. "Sustained" is the rate deliveries arrived at, from the first to the last.`,
      '',
    );
    for (const s of r.endToEnd) {
      out.push(`Loss ledger at ${s.offeredRate}/s:`, '', '| count | |', '|---|---:|');
      for (const l of s.ledger) out.push(`| ${l.what} | ${l.count === s.sessions ? l.count : `**${l.count}**`} |`);
      out.push('');
      // Older results files have no such count.
      if (s.postbacksRetried) out.push(`${s.postbacksRetried} postbacks were answered \`503\` (not stored: the database did not answer in time) and sent again after their \`Retry-After\`, as a network does.`, '');
    }
    const written = r.endToEnd.flatMap((s) => (s.dbWrites ? [[`${s.offeredRate}/s`, s.dbWrites] as const] : []));
    if (written.length) {
      out.push(...dbWritesSection('session, end to end', 'per session offered, from the stage\'s first click until its last delivery and the counts settled (work the engine does later, such as the window\'s close, is not in it)', written, 'stage'));
    }
  }

  out.push(...renderHotRuns(r.hotRuns));

  const cpuRows: [string, CpuUsage][] = [
    ...(r.click?.scenarios.map((s) => [`click ${s.label.slice(0, 3)}`, s.cpu] as [string, CpuUsage]) ?? []),
    ...(r.ceiling?.stages.map((s) => [`(d) ceiling ${s.rate}/s`, s.cpu] as [string, CpuUsage]) ?? []),
    ...(r.postback ? [['postback (e) MongoDB-only', r.postback.baseline.cpu] as [string, CpuUsage], ['postback clicktrail', r.postback.cpu] as [string, CpuUsage]] : []),
    ...(r.endToEnd?.map((s) => [`end to end ${s.offeredRate}/s`, s.cpu] as [string, CpuUsage]) ?? []),
  ];
  if (cpuRows.length) {
    const labels = [...new Set(cpuRows.flatMap(([, c]) => Object.keys(c.processes)))];
    out.push(`## CPU per process during each measured run (% of one core; ${e.cores} cores = ${e.cores * 100}%)`, '');
    out.push(`| run | ${labels.join(' | ')} | other programs | whole machine |`, `|---|${labels.map(() => '---:').join('|')}|---:|---:|`);
    for (const [name, c] of cpuRows) {
      out.push(`| ${name} | ${labels.map((l) => (c.processes[l] === undefined ? '' : `${c.processes[l]}`)).join(' | ')} | ${c.others} | ${c.machine} |`);
    }
    out.push('', '"other programs" is everything else on the machine (other users of the same cores), measured from /proc/stat.', '');
  }

  out.push(...renderCpuPerRequest(r));
  if (!abOnly) out.push(...renderTargets(r));
  out.push('## Result', '');
  if (r.failures.length === 0) out.push('Every count matched: no loss.');
  else for (const f of r.failures) out.push(`- **FAILED**: ${f}`);
  out.push('');
  return out.join('\n');
}

function pct(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

function renderCeiling(d: CeilingPhaseResult): string[] {
  const out = [
    `## Baseline (d): the engine's ceiling`,
    '',
    "A no-op session workflow (`bench/ceiling/workflows.ts`): started eagerly from the worker's process with the session's six search attributes, one conversion by signalWithStart, the status upsert, one delivery (abandoned child workflow running one activity), the window's timer, completion. No database. Driver and worker in one process on the engine core, with the Temporal dev server.",
    '',
    '| offered sessions/s | sessions | started (eager) | delivered | completed | sustained/s | start p50 / p99 ms | start→delivery p50 / p99 ms | kept |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...d.stages.map(
      (s) =>
        `| ${s.rate} | ${s.sessions} | ${s.started} (${s.eager}) | ${s.delivered} | ${s.completed} | ${s.sustainedPerSec} | ${s.startMs.p50} / ${s.startMs.p99} | ${s.deliveryMs.p50} / ${s.deliveryMs.p99} | ${s.kept ? 'yes' : `no${s.errors.length ? `: ${s.errors[0]!.slice(0, 120)}` : ''}`} |`,
    ),
    '',
    d.best ? `**Ceiling: ${d.sessionsPerSec} sessions/s** with zero loss (each stage 1.5× the one before, until one lost a session or fell below 90% of its rate).` : '**No stage kept its rate**: the ceiling is below the first offered rate (`--ceiling-rate`).',
    '',
  ];
  return out;
}

function renderEngineAb(rows: EngineAbResult[]): string[] {
  return [
    '## Engine A/B (baseline (d) above capacity, one fresh dev server per setting and round)',
    '',
    'Throughput: sessions over the time from the first start sent to the last delivery.',
    '',
    '| round | setting | variant | offered/s | sessions | delivered | completed | throughput sessions/s | CPU ms per session (engine) | start p50 / p99 ms |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (x) =>
        `| ${x.round} | ${x.variant.ab} | ${x.variant.label} | ${x.stage.rate} | ${x.stage.sessions} | ${x.stage.delivered} | ${x.stage.completed} | ${x.stage.throughputPerSec} | ${x.cpuMsPerSession} | ${x.stage.startMs.p50} / ${x.stage.startMs.p99} |`,
    ),
    '',
  ];
}

/** Labels of the processes doing a run's work (the load generator is not one). */
export const INVOLVED = {
  clicktrail: (api: string) => [api, 'clicktrail worker', 'Temporal server', 'FerretDB', 'PostgreSQL'],
  baselineDb: (server: string) => [server, 'FerretDB', 'PostgreSQL'],
  ceiling: ['engine ceiling (d)', 'Temporal server'],
};

function renderCpuPerRequest(r: BenchResults): string[] {
  const rows: [string, string, CpuUsage, number, string[]][] = [];
  if (r.click) {
    const [a, b, c] = r.click.scenarios;
    if (a) rows.push(['click (a) bare 302', 'saturated run', a.cpu, a.load.responses, ['bare 302 server']]);
    if (b) rows.push(['click (b) MongoDB-only', 'saturated run', b.cpu, b.load.responses, INVOLVED.baselineDb('MongoDB-only tracker')]);
    if (c) {
      rows.push(['click (c) clicktrail', 'saturated run', c.cpu, c.load.responses, INVOLVED.clicktrail('clicktrail API')]);
      rows.push(['click (c) clicktrail', 'whole scenario until every workflow started', c.whole.cpu, c.whole.responses, INVOLVED.clicktrail('clicktrail API')]);
    }
  }
  if (r.postback) {
    rows.push(['postback (e) MongoDB-only', 'measured run', r.postback.baseline.cpu, r.postback.baseline.load.responses, INVOLVED.baselineDb('MongoDB-only postback (e)')]);
    rows.push(['postback clicktrail', 'measured run (work left for later not included)', r.postback.cpu, r.postback.load.responses, INVOLVED.clicktrail('clicktrail API')]);
  }
  if (r.ceiling?.best) rows.push([`(d) ceiling at ${r.ceiling.best.rate}/s`, 'per session, stage until completed', r.ceiling.best.cpu, r.ceiling.best.completed, INVOLVED.ceiling]);
  for (const s of r.endToEnd ?? []) rows.push([`end to end ${s.offeredRate}/s`, 'per session, stage until delivered', s.cpu, s.sessions, INVOLVED.clicktrail('clicktrail API')]);
  if (!rows.length) return [];
  const labels = [...new Set(rows.flatMap(([, , , , inv]) => inv))];
  return [
    '## CPU per request (ms of CPU, from /proc/<pid>/stat of each process and its children)',
    '',
    `| run | window | requests | total | ${labels.join(' | ')} |`,
    `|---|---|---:|---:|${labels.map(() => '---:').join('|')}|`,
    ...rows.map(([name, window, cpu, n, involved]) => {
      const per = cpuMsPer(cpu, n, involved);
      return `| ${name} | ${window} | ${n} | **${per.total}** | ${labels.map((l) => (per.processes[l] === undefined ? '' : `${per.processes[l]}`)).join(' | ')} |`;
    }),
    '',
    'The total is over the processes doing the work (the load generator excluded). For clicktrail the saturated run leaves workflow work for later; the "whole scenario" row counts it.',
    '',
  ];
}

/** What the database wrote per request, for each server of a phase (rows from db-writes.ts). */
function dbWritesSection(request: string, span: string, servers: readonly (readonly [string, readonly WritesPerRequest[]])[], rowsAre = 'server'): string[] {
  const out = [
    `### Database writes per ${request}`,
    '',
    `Rows PostgreSQL wrote under FerretDB (\`pg_stat_user_tables\` of each collection's table, \`bench/db-writes.ts\`): ${span}. DocumentDB's secondary indexes are expressions over the whole document, so an update in a collection that has one writes the row again and an entry in each of its indexes (only a HOT update, possible where \`_id\` is the only index, writes none).`,
    '',
    `| ${rowsAre} | collection | indexes | inserts | updates | deletes | index entries written |`,
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const [name, rows] of servers) {
    for (const w of rows) out.push(`| ${name} | ${w.collection} | ${w.indexes} | ${w.inserts} | ${w.updates} | ${w.deletes} | ${w.indexEntries} |`);
    const t = totalWrites(rows);
    out.push(`| ${name} | **all** | | **${t.inserts}** | **${t.updates}** | **${t.deletes}** | **${t.indexEntries}** |`);
  }
  return [...out, ''];
}

/** `--rounds`: each round's saturated runs (the first is the table's above), and the median ratio. */
function roundsTable(baseline: string, clicktrail: string, r: Rounds | undefined): string[] {
  if (!r || r.rounds.length < 2) return [];
  return [
    `Saturated runs in ${r.rounds.length} interleaved rounds (round 1 the baseline first, round 2 clicktrail first, …):`,
    '',
    `| round | ${baseline} req/s | ${clicktrail} req/s | ratio |`,
    '|---:|---:|---:|---:|',
    ...r.rounds.map((x, i) => `| ${i + 1} | ${x.baselineRps} | ${x.clicktrailRps} | ${x.ratio.toFixed(2)} |`),
    '',
    `Median ratio: **${r.median.toFixed(2)}**.`,
    '',
  ];
}

/** The hot paths' measured runs in the order they ran: how much of each autovacuum shared, and how much the hand-over yielded. */
function renderHotRuns(runs: HotRun[] | undefined): string[] {
  if (!runs?.length || runs.every((r) => r.autovacuum === null && r.handoverYielding === null)) return [];
  const t0 = runs[0]!.startedAt;
  const share = (x: number | null | undefined) => (x === null || x === undefined ? '?' : `${Math.round(x * 100)}%`);
  return [
    '## Beside the measured hot-path runs: autovacuum, and the hand-over yielding',
    '',
    'PostgreSQL vacuums and analyses a table some time after many inserts, on the database core at normal priority, during whichever run comes next (sampled once a second). The hand-over yields while an API host reports its hot paths pressed (the worker\'s `clicktrail_handover_yielding`, sampled four times a second; `?` when the worker was frozen or not read).',
    '',
    '| run | started (s) | req/s | hand-over yielding | autovacuum busy | what it worked on |',
    '|---|---:|---:|---:|---:|---|',
    ...runs.map((r) => `| ${r.label} | ${Math.round((r.startedAt - t0) / 1000)} | ${r.rps} | ${share(r.handoverYielding)} | ${share(r.autovacuum?.busyShare)} | ${r.autovacuum?.work.join('; ') || ''} |`),
    '',
  ];
}
