import type { WorkflowHandle } from '@temporalio/client';
import type { Fixture } from './fixtures';
import type { TestApp } from './harness';
import { sessionOf, startSessionWorkflow, storeSession } from './stored-session';
import { click, postback, settledDeliveries } from './tracking-client';

export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
export type HistoryEvent = NonNullable<History['events']>[number];

/**
 * One session through every step its workflow has: click, a pending sale, its approval, the
 * notifications, and the end of a short attribution window. Returns the workflow's whole history.
 */
export async function runSessionLife(app: TestApp, f: Fixture): Promise<{ sessionId: string; history: History }> {
  const { sessionId } = await click(app.httpUrl!, f);
  return lifeAfterClick(app, f, sessionId);
}

/** The same life for a session the hand-over started: stored by the click, the workflow told so. */
export async function runStoredSessionLife(app: TestApp, f: Fixture): Promise<{ sessionId: string; history: History }> {
  const session = sessionOf(f, SESSION_LIFE_WINDOW_SEC * 1000);
  await storeSession(session);
  await startSessionWorkflow(app, session, true);
  return lifeAfterClick(app, f, session.sessionId);
}

async function lifeAfterClick(app: TestApp, f: Fixture, sessionId: string): Promise<{ sessionId: string; history: History }> {
  const sale = { click_id: sessionId, event: 'sale', txid: 'tx-life-1', amount: '20.00', currency: 'EUR', token: f.token };
  const first = await postback(app.httpUrl!, { ...sale, status: 'pending' });
  if (first.status !== 202) throw new Error(`postback answered ${first.status}`);
  await settledDeliveries(sessionId, 4);
  const update = await postback(app.httpUrl!, { ...sale, status: 'approved' });
  if (update.status !== 202) throw new Error(`status update answered ${update.status}`);
  await settledDeliveries(sessionId, 8);
  const handle = app.temporal.client.workflow.getHandle(sessionId);
  await handle.result();
  return { sessionId, history: await handle.fetchHistory() };
}

/** The fixture's attribution window for runSessionLife: long enough for the approval to arrive on a busy machine, short enough to close in a test. */
export const SESSION_LIFE_WINDOW_SEC = 15;
