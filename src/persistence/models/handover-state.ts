import { Schema, model } from 'mongoose';
import { rawCollection } from '../raw-collection';

// The session hand-over's bookkeeping (src/handover/session-ranges.ts): one small document. The
// hand-over never writes to a session: it walks them in id order (UUIDv7, so time order) a range
// at a time, and this document says how far it has got and which ranges are being worked on.

/** A claimed range of session ids, (`from`, `to`], being handed over by `by` until `until`. */
export interface SessionRangeClaim {
  from: string;
  to: string;
  by: string;
  until: Date;
  /** Only these are left to start (the rest were), again from `until` by whoever claims it. */
  retry?: string[];
}

export interface HandoverStateDoc {
  _id: 'sessions';
  /** Every session with an id up to here is in a range claimed once: handed over, or in `claims`. */
  next: string;
  /** The claims not finished yet. */
  claims: SessionRangeClaim[];
  /** Bumped by every change: writes are compare-and-set on it. */
  v: number;
}

const stateSchema = new Schema({ _id: String, next: String, claims: Schema.Types.Mixed, v: Number }, { versionKey: false });

export const HandoverState = model<HandoverStateDoc>('HandoverState', stateSchema, 'handover_state');
export const handoverState = rawCollection(HandoverState);
