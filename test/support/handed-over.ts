import { readState, startedFilter, waitingFilter } from '../../src/handover/session-ranges';
import { sessions, type SessionRecord } from '../../src/persistence/models/session';

// Whether sessions have had their workflow started, as the hand-over's state says (it writes
// nothing to the sessions themselves).

/** The stored session once its workflow has been started, else null. */
export async function startedSession(id: string): Promise<SessionRecord | null> {
  return sessions().findOne({ _id: id, ...startedFilter(await readState()) });
}

/** How many of `ids` have had their workflow started. */
export async function startedCount(ids: string[]): Promise<number> {
  return sessions().countDocuments({ _id: { $in: ids }, ...startedFilter(await readState()) });
}

export const allStarted = (ids: string[]) => async () => (await startedCount(ids)) === ids.length;

/** No stored session is waiting for the hand-over (past its cursor, or in a claim not finished). */
export async function nothingWaiting(): Promise<boolean> {
  const s = await readState();
  return s.claims.length === 0 && (await sessions().countDocuments(waitingFilter(s))) === 0;
}
