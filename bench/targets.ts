import { cpuMsPer, type CpuUsage } from './cpu';
import type { BenchResults } from './report';
import { INVOLVED } from './report';
import { describeRounds, type Rounds } from './rounds';

// Issue #12's targets, as ratios within one run, each met or not; a miss says where the CPU went
// and where its profile is (or the command that makes one).

interface Target {
  measure: string;
  target: string;
  value: string;
  met: boolean | null;
  why?: string;
}

/**
 * The end-to-end stages around the target, 0.5, 0.7 and 0.9 × (d), rounded up: a stage at 0.7 × (d)
 * rounded down (9 for a (d) of 13) could never show the target (9.1) met.
 */
export function endToEndRates(ceiling: number): number[] {
  // The float error of a product that should be whole (0.7 × 100 = 70.00000000000001) is not a rate above it.
  return [...new Set([0.5, 0.7, 0.9].map((f) => Math.max(1, Math.ceil(f * ceiling - 1e-9))))];
}

export function renderTargets(r: BenchResults): string[] {
  const rows: Target[] = [];
  const click = r.click?.scenarios;
  const b = click?.[1];
  const c = click?.[2];
  const profile = (run: string, args: string) =>
    r.args.profile
      ? `profiles: \`bench/results/profiles/${r.args.name}-${run}-api.txt\`, \`…-${run}-worker.txt\`, the baseline's \`…-${run}-baseline.txt\``
      : `profile: \`npm run bench -- ${args} --profile\` (bench/results/profiles/)`;

  if (b && c) {
    const { ratio, value } = throughput(c.load.rps, b.load.rps, r.click!.rounds);
    rows.push({
      measure: 'click throughput, clicktrail / MongoDB-only (b)',
      target: '≥ 0.8',
      value,
      met: ratio >= 0.8,
      why: `CPU per click ${heaviest(c.cpu, c.load.responses, INVOLVED.clicktrail('clicktrail API'))} against (b) ${heaviest(b.cpu, b.load.responses, INVOLVED.baselineDb('MongoDB-only tracker'))}; ${profile('click', '--only click')}`,
    });
    if (b.atFixedRate && c.atFixedRate) {
      const limit = round(1.5 * b.atFixedRate.load.latencyMs.p99);
      rows.push({
        measure: `click p99 at ${b.atFixedRate.load.overallRate} req/s offered, clicktrail vs 1.5 × MongoDB-only`,
        target: `≤ 1.5 × ${b.atFixedRate.load.latencyMs.p99} = ${limit} ms`,
        value: c.atFixedRate.load.responses ? `**${c.atFixedRate.load.latencyMs.p99} ms** (p50 ${c.atFixedRate.load.latencyMs.p50})` : '**no answer within the run**',
        met: c.atFixedRate.load.latencyMs.p99 <= limit,
        why: `the click path's own work is in the saturated run's profile; ${profile('click', '--only click')}`,
      });
    }
  }
  if (r.postback) {
    const { ratio, value } = throughput(r.postback.load.rps, r.postback.baseline.load.rps, r.postback.rounds);
    rows.push({
      measure: 'postback throughput, clicktrail / MongoDB-only (e)',
      target: '≥ 0.8',
      value,
      met: ratio >= 0.8,
      why: `CPU per postback ${heaviest(r.postback.cpu, r.postback.load.responses, INVOLVED.clicktrail('clicktrail API'))} against (e) ${heaviest(r.postback.baseline.cpu, r.postback.baseline.load.responses, INVOLVED.baselineDb('MongoDB-only postback (e)'))}; ${profile('postback', '--only postback')}`,
    });
  }
  if (r.endToEnd?.length) {
    const kept = r.endToEnd.filter((s) => s.lossless && s.sustainedPerSec >= 0.9 * s.offeredRate);
    const best = kept.length ? Math.max(...kept.map((s) => s.offeredRate)) : 0;
    const d = r.ceiling?.sessionsPerSec;
    const worst = [...r.endToEnd].sort((x, y) => y.offeredRate - x.offeredRate).find((s) => !kept.includes(s));
    rows.push({
      measure: 'end-to-end zero-loss sessions/s vs the engine ceiling (d)',
      target: d ? `≥ 0.7 × ${d} = ${round(0.7 * d)}` : '≥ 0.7 × (d) (not measured in this run: add `ceiling` to --only)',
      value: d ? `${best} / ${d} = **${round(best / d)}**` : `${best}`,
      met: d ? best >= 0.7 * d : null,
      why: worst
        ? `at ${worst.offeredRate}/s: ${worst.sustainedPerSec}/s sustained, click→delivery p99 ${worst.deliveryLatencyMs.p99} ms, CPU per session ${heaviest(worst.cpu, worst.sessions, INVOLVED.clicktrail('clicktrail API'))}; ${profile(`e2e-${worst.offeredRate}`, `--only ceiling,e2e`)}`
        : undefined,
    });
  }
  const ledgers = r.failures.length === 0;
  rows.push({ measure: 'loss: every ledger count balanced', target: 'none lost', value: ledgers ? 'balanced' : `**${r.failures.length} failure(s)** (below)`, met: ledgers, why: 'see "Result"' });

  return [
    '## Targets (issue #12, ratios within this run)',
    '',
    '| measure | target | this run | met |',
    '|---|---|---|---|',
    ...rows.map((t) => `| ${t.measure} | ${t.target} | ${t.value} | ${t.met === null ? 'not measured' : t.met ? 'met' : `**not met**: ${t.why ?? ''}`} |`),
    '',
  ];
}

/** A throughput ratio: the one round's, or the median of `--rounds` interleaved ones. */
function throughput(clicktrail: number, baseline: number, rounds: Rounds | undefined): { ratio: number; value: string } {
  if (!rounds || rounds.rounds.length < 2) {
    const ratio = round(clicktrail / baseline);
    return { ratio, value: `${clicktrail} / ${baseline} = **${ratio}**` };
  }
  const ratio = round(rounds.median);
  return { ratio, value: `**${ratio}** (${describeRounds(rounds)})` };
}

/** "1.9 ms (Temporal server 0.8)": the total and the process that took most of it. */
function heaviest(cpu: CpuUsage, n: number, involved: string[]): string {
  const per = cpuMsPer(cpu, n, involved);
  const [name, ms] = Object.entries(per.processes).sort((x, y) => y[1] - x[1])[0] ?? ['?', NaN];
  return `${per.total} ms (most: ${name} ${ms})`;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
