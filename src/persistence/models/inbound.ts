import { Schema, model } from 'mongoose';
import { rawCollection } from '../raw-collection';
import type { ConversionRequest } from '../../domain/attribution-rules';
import type { HandoverLease } from './session';

/**
 * Every pixel and postback request and what became of it. An accepted conversion is stored
 * `signalled: false` before its 202; the hand-over (worker processes) signals it to its session.
 */
export interface InboundRecord {
  _id: string;
  source: 'pixel' | 'postback';
  sessionId: string | null;
  params: Record<string, string>;
  ip: string;
  /** At the answer: accepted (stored for the hand-over), rejected (4xx), or duplicate of a stored conversion. */
  outcome: 'accepted' | 'rejected' | 'duplicate';
  httpStatus: number;
  reason: string | null;
  /** The conversion as it is (or will be) signalled to the session workflow; null when rejected. */
  request: ConversionRequest | null;
  signalled: boolean;
  at: Date;
  /** A hand-over process working on it (accepted, not yet signalled). */
  handoverLease?: HandoverLease;
  /** What the session workflow finally did with it (absent while it has not decided). */
  decision?: InboundDecision;
}

export interface InboundDecision {
  /** late: it reached its session after the session had closed (a recovered conversion); the reason says so. */
  outcome: 'recorded' | 'updated' | 'duplicate' | 'ignored' | 'late';
  reason: string | null;
  conversionId: string | null;
  at: Date;
}

const inboundSchema = new Schema(
  {
    _id: String,
    source: String,
    sessionId: String,
    params: Schema.Types.Mixed,
    ip: String,
    outcome: String,
    httpStatus: Number,
    reason: String,
    request: Schema.Types.Mixed,
    signalled: Boolean,
    at: Date,
    decision: Schema.Types.Mixed,
    handoverLease: { by: String, until: Date },
  },
  { versionKey: false },
);
// The hand-over's queue, oldest first: accepted and not yet signalled (rejected rows are never signalled, so outcome is in the key).
inboundSchema.index({ signalled: 1, outcome: 1, at: 1 });
// Nothing else: every pixel and postback inserts here, and each index costs that insert about a
// fifth of it again. Ids are UUIDv7 (the request's own), so they are already in time order.

/** Indexes of earlier versions that no query used: dropped at start (database.ts). */
export const RETIRED_INBOUND_INDEXES: readonly Record<string, 1>[] = [{ sessionId: 1 }, { at: 1 }];

export const Inbound = model<InboundRecord>('Inbound', inboundSchema, 'inbound');
export const inbounds = rawCollection(Inbound);
