import { Schema, model } from 'mongoose';
import { rawCollection } from '../raw-collection';

// One document: the latest click an API process handed to Temporal because MongoDB did not take
// it (held-clicks.ts). Written once MongoDB answers again, so that every API process, including one
// started after the outage, knows that a click id not found yet may still be on its way.

export const HELD_CLICKS_MARK_ID = 'clicks-held-by-temporal';

export interface HeldClicksMarkDoc {
  _id: typeof HELD_CLICKS_MARK_ID;
  /** When the latest of those clicks was made (its id's time). */
  lastAt: Date;
}

const markSchema = new Schema({ _id: String, lastAt: Date }, { versionKey: false });

export const HeldClicksMark = model<HeldClicksMarkDoc>('HeldClicksMark', markSchema, 'held_clicks_mark');
export const heldClicksMark = rawCollection(HeldClicksMark);
