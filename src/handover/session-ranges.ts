import type { mongo } from 'mongoose';
import type { HandoverStateDoc } from '../persistence/models/handover-state';
import { sessions, type SessionRecord } from '../persistence/models/session';
import * as ranges from './id-ranges';

// The stored sessions as a log the hand-over walks (id-ranges.ts): it starts their workflows.

/** A session the hand-over must start: neither lazy (it waits for a conversion) nor started some other way. */
const STARTABLE = { lazy: { $ne: true }, workflowStarted: { $ne: true } } as const;

export const SESSION_LOG: ranges.IdLog<SessionRecord> = { name: 'sessions', collection: () => sessions(), pending: STARTABLE };

export const readState = (): Promise<HandoverStateDoc> => ranges.readState(SESSION_LOG);

/** Sessions past the cursor that the hand-over will start (lazy and otherwise started ones excluded). */
export const waitingFilter = (s: HandoverStateDoc): mongo.Filter<SessionRecord> => ranges.waitingFilter(SESSION_LOG, s);

export { handedOver } from './id-ranges';

/** Sessions whose workflow has been started: by the hand-over (as `handedOver`), or some other way. */
export function startedFilter(s: HandoverStateDoc): mongo.Filter<SessionRecord> {
  const open = ranges.openClaims(s);
  return { $or: [{ workflowStarted: true }, { _id: { $lte: s.next }, lazy: { $ne: true }, ...(open.length ? { $nor: open } : {}) }] } as mongo.Filter<SessionRecord>;
}
