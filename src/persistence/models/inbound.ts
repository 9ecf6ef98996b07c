import { Schema, model } from 'mongoose';
import { rawCollection } from '../raw-collection';
import type { ConversionRequest } from '../../domain/attribution-rules';

/**
 * Every pixel and postback request and what became of it. An accepted conversion is stored before
 * its 202; the hand-over (worker processes) walks the log by id and signals it to its session
 * (src/handover/conversion-log.ts), writing nothing to it; the session workflow writes its decision.
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
  /** Written by versions before the hand-over walked the log (true once signalled); never written now. */
  signalled?: boolean;
  at: Date;
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
  },
  { versionKey: false },
);
// No secondary index: every pixel and postback inserts here, and each index costs that insert
// about a fifth of it again, and every later rewrite (the decision) as much. Ids are UUIDv7 (the
// request's own), so the primary key is already the log in time order, which the hand-over walks.

/**
 * Indexes of earlier versions: dropped at start (database.ts). The last was the hand-over's queue
 * when it leased and marked each row; it walks the ids now.
 */
export const RETIRED_INBOUND_INDEXES: readonly Record<string, 1>[] = [{ sessionId: 1 }, { at: 1 }, { signalled: 1, outcome: 1, at: 1 }];

export const Inbound = model<InboundRecord>('Inbound', inboundSchema, 'inbound');
export const inbounds = rawCollection(Inbound);
