import type { Ledger } from './ledger';

// The chaos run's results as markdown: one row of books per scenario, then what happened when.

export interface ScenarioResult {
  name: string;
  what: string;
  ledger: Ledger;
  imbalances: string[];
  /** Seconds from the end of the load until the books balanced (or the drain timeout). */
  drainedSec: number;
  clickLatencyMs: { p50: number; p99: number; max: number; over2s: number; over5s: number };
  postbacks: { duplicateAnswers: number; refused: Record<string, number>; retries: number };
  clickFailures: string[];
  sinkAnswers: Record<string, number>;
  timeline: string[];
}

export interface ChaosRun {
  command: string;
  at: string;
  totalSec: number;
  settings: Record<string, unknown>;
  scenarios: ScenarioResult[];
  failures: string[];
}

export function renderChaosMarkdown(run: ChaosRun): string {
  const rows = run.scenarios.map((s) => {
    const l = s.ledger;
    return `| ${s.name} | ${l.clicksAnswered} / ${l.sessionsStored} / ${l.workflowsStarted}${l.clicksFailed ? ` (${l.clicksFailed} failed)` : ''} | ${l.postbacksAccepted} = ${l.conversionsRecorded} + ${l.rejectedWithReason} | ${l.conversionsRecorded} / ${l.deliveriesDelivered} / ${l.sinkReceived} | ${l.sinkDuplicates} | ${s.clickLatencyMs.p50} / ${s.clickLatencyMs.p99} / ${s.clickLatencyMs.max} (${s.clickLatencyMs.over5s} > 5 s) | ${s.drainedSec} s | ${s.imbalances.length ? `**imbalanced**: ${s.imbalances.join('; ')}` : 'balanced'} |`;
  });
  const details = run.scenarios.map(
    (s) =>
      `### ${s.name}\n\n${s.what}.\n\n${s.timeline.map((t) => `- ${t}`).join('\n')}\n\nPostbacks: ${s.postbacks.retries} retried after a 503 or no answer, ${s.postbacks.duplicateAnswers} answered "duplicate", refused: ${JSON.stringify(s.postbacks.refused)}, given up by the sender: ${s.ledger.postbacksGivenUp}. Publisher endpoint answers: ${JSON.stringify(s.sinkAnswers)}.${s.clickFailures.length ? ` Click failures: ${s.clickFailures.join('; ')}.` : ''}`,
  );
  return [
    `# Chaos run`,
    '',
    `\`${run.command}\`, ${run.at}, ${run.totalSec} s. ${run.failures.length ? `**${run.failures.length} failure(s)**` : 'Every scenario balanced.'}`,
    '',
    '| scenario | clicks answered / stored / workflows | postbacks accepted = recorded + rejected | conversions / delivered / at the sink | paid twice | click p50 / p99 / max ms | drained in | books |',
    '|---|---|---|---|---:|---|---:|---|',
    ...rows,
    '',
    ...details,
    ...(run.failures.length ? ['', '## Failures', '', ...run.failures.map((f) => `- ${f}`)] : []),
    '',
    `Settings: ${JSON.stringify(run.settings)}`,
    '',
  ].join('\n');
}
