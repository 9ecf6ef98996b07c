import { Schema, model } from 'mongoose';
import { rawCollection } from '../raw-collection';

// The hand-over's bookkeeping (src/handover/id-ranges.ts): one small document per log it walks.
// The hand-over never writes to the sessions or accepted conversions it takes: it walks them in id
// order (UUIDv7, so time order) a range at a time, and this document says how far it has got and
// which ranges are being worked on.

/** The logs the hand-over walks: stored sessions, and the inbound log's accepted conversions. */
export type LogName = 'sessions' | 'inbound';

/** A claimed range of ids, (`from`, `to`], being handed over by `by` until `until`. */
export interface IdRangeClaim {
  from: string;
  to: string;
  by: string;
  until: Date;
  /** Only these are left to hand over (the rest were), again from `until` by whoever claims it. */
  retry?: string[];
}

export interface HandoverStateDoc {
  _id: LogName;
  /** Every item with an id up to here is in a range claimed once: handed over, or in `claims`. */
  next: string;
  /** The claims not finished yet. */
  claims: IdRangeClaim[];
  /** Bumped by every change: writes are compare-and-set on it. */
  v: number;
}

const stateSchema = new Schema({ _id: String, next: String, claims: Schema.Types.Mixed, v: Number }, { versionKey: false });

export const HandoverState = model<HandoverStateDoc>('HandoverState', stateSchema, 'handover_state');
export const handoverState = rawCollection(HandoverState);
