import type { Client } from '@temporalio/client';
import { conversions } from '../src/persistence/models/conversion';
import { deliveries } from '../src/persistence/models/delivery';
import { readState, startedFilter } from '../src/handover/session-ranges';
import { sessions } from '../src/persistence/models/session';
import type { WorkflowPolicy } from './args';
import type { PostbackSink } from './sink';

// What actually exists after a phase, read back from where it lives: MongoDB (sessions,
// conversions, delivery attempts), Temporal's visibility store (workflows), and the sink
// (postbacks received). Every phase has its own campaign, so these are exact per phase.

export interface Counts {
  sessionsStored: number;
  /** Stored sessions flagged bot or duplicate: no workflow of their own under skip-bots-and-duplicates. */
  sessionsFlagged: number;
  /** Sessions the hand-over's state (or their own `workflowStarted: true`) says are started. */
  sessionsHandedOver: number;
  /** Session workflow executions Temporal knows for the campaign. */
  workflowsStarted: number;
  conversionsRecorded: number;
  /** Delivery attempts clicktrail logged as delivered. */
  deliveriesLogged: number;
  postbacksReceived: number;
}

export async function readCounts(temporal: Client, sink: PostbackSink, campaignId: string): Promise<Counts> {
  const state = await readState();
  const [sessionsStored, sessionsFlagged, sessionsHandedOver, workflows, conversionIds] = await Promise.all([
    sessions().countDocuments({ campaignId }),
    sessions().countDocuments({ campaignId, $or: [{ bot: true }, { duplicate: true }] }),
    sessions().countDocuments({ campaignId, ...startedFilter(state) }),
    temporal.workflow.count(`WorkflowType = "sessionWorkflow" AND CampaignId = "${campaignId}"`),
    conversions()
      .find({ campaignId }, { projection: { _id: 1 } })
      .map((c) => c._id)
      .toArray(),
  ]);
  const deliveriesLogged = conversionIds.length
    ? await deliveries().countDocuments({ conversionId: { $in: conversionIds }, outcome: 'delivered' })
    : 0;
  return {
    sessionsStored,
    sessionsFlagged,
    sessionsHandedOver,
    workflowsStarted: workflows.count,
    conversionsRecorded: conversionIds.length,
    deliveriesLogged,
    postbacksReceived: sink.received(campaignId),
  };
}

/** Session workflows the policy starts without a conversion: every stored session, or only the unflagged ones. */
export function workflowsExpected(c: Counts, policy: WorkflowPolicy): number {
  return policy === 'every-click' ? c.sessionsStored : c.sessionsStored - c.sessionsFlagged;
}

/** Polls until `done` holds (true) or the timeout passes (false); returns the seconds waited. */
export async function waitFor<C = Counts>(
  read: () => Promise<C>,
  done: (c: C) => boolean,
  timeoutSec: number,
): Promise<{ counts: C; drained: boolean; waitedSec: number }> {
  const started = Date.now();
  for (;;) {
    const r = await read().then((counts) => ({ counts }), (err: unknown) => ({ err }));
    const waitedSec = Math.round((Date.now() - started) / 100) / 10;
    if ('counts' in r) {
      if (done(r.counts)) return { counts: r.counts, drained: true, waitedSec };
      if (waitedSec >= timeoutSec) return { counts: r.counts, drained: false, waitedSec };
    } else {
      // A database restarting under the drain (a PostgreSQL backend crash puts the cluster into
      // recovery for a moment): what the engine does meanwhile is the run's, the harness reads again.
      if (waitedSec >= timeoutSec) throw r.err;
      console.log(`  (reading the counts failed after ${waitedSec} s: ${String(r.err)}; reading again)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
