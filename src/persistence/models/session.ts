import { Schema, model } from 'mongoose';
import { rawCollection } from '../raw-collection';
import type { SessionSnapshot } from '../../domain/session';

export type SessionStatus = 'open' | 'converted' | 'expired';

/** The session document as the click path writes it (inserted raw, without mongoose casting, for speed). */
export interface SessionRecord extends Omit<SessionSnapshot, 'sessionId' | 'createdAtMs' | 'expiresAtMs'> {
  _id: string;
  createdAt: Date;
  expiresAt: Date;
  status: SessionStatus;
  /**
   * true: its workflow was started by something other than the hand-over's walk through the ids
   * (the workflow itself storing a click MongoDB missed, a conversion starting a lazy session), so
   * the walk skips it. Absent on a click: whether the hand-over has started it is in its state
   * (src/handover/session-ranges.ts), not written to the session.
   */
  workflowStarted?: boolean;
  /** A bot or duplicate click under SESSION_WORKFLOW_POLICY=skip-bots-and-duplicates: its workflow starts with its first conversion. */
  lazy?: true;
  /** Where the click was sent, for the workflow's summary in the Temporal UI. */
  landingUrl?: string;
  /** A hand-over process working on it until `until` (then any may take it over). */
  handoverLease?: HandoverLease;
}

export interface HandoverLease {
  /** The claim: process and batch. */
  by: string;
  until: Date;
}

const sessionSchema = new Schema(
  {
    _id: String,
    advertiserId: String,
    campaignId: String,
    assetId: String,
    publisherId: String,
    supportId: String,
    ip: String,
    country: String,
    device: { type: { type: String }, os: String, browser: String, vendor: String, model: String },
    userAgent: String,
    publisherData: { type: Schema.Types.Mixed },
    referrer: String,
    providers: { campaign: String, publisher: String, business: String },
    bot: Boolean,
    duplicate: Boolean,
    nonNavigation: Boolean,
    createdAt: Date,
    expiresAt: Date,
    status: String,
    workflowStarted: Boolean,
    lazy: Boolean,
    landingUrl: String,
    handoverLease: { by: String, until: Date },
  },
  { versionKey: false, minimize: false },
);
// No index for the hand-over: it walks _id (UUIDv7, time-ordered). Each index costs every click's
// insert about a fifth of the insert again on the local engine, so time ranges are read as id
// ranges (idRange in src/persistence/session-ids.ts: an id is made from its session's createdAt)
// and a {field, _id} index per scope serves both a scoped time range and a list paged by id. An
// advertiser's scope is read as its campaigns' (advertiser-campaigns.ts), so it has no index.
// The retention TTL index (on expiresAt) is applySessionRetention's, made only when retention is set.
sessionSchema.index({ campaignId: 1, _id: 1 });
sessionSchema.index({ publisherId: 1, _id: 1 });

/** Indexes of earlier versions that no query needs any more: dropped at start (database.ts). */
export const RETIRED_SESSION_INDEXES: readonly Record<string, 1>[] = [
  { campaignId: 1, createdAt: 1 },
  { publisherId: 1, createdAt: 1 },
  { advertiserId: 1, createdAt: 1 },
  { createdAt: 1 },
  { advertiserId: 1, _id: 1 },
];

export const Session = model<SessionRecord>('Session', sessionSchema, 'sessions');
export const sessions = rawCollection(Session);

/** `lazy`: its workflow waits for a conversion; false: the hand-over starts it; true: started already. */
export function sessionRecord(s: SessionSnapshot, workflowStarted: boolean | 'lazy', landingUrl?: string): SessionRecord {
  const { sessionId, createdAtMs, expiresAtMs, ...rest } = s;
  return {
    _id: sessionId,
    ...rest,
    createdAt: new Date(createdAtMs),
    expiresAt: new Date(expiresAtMs),
    status: 'open',
    ...(workflowStarted === 'lazy' ? { lazy: true as const } : workflowStarted ? { workflowStarted: true } : {}),
    ...(landingUrl ? { landingUrl } : {}),
  };
}

export function sessionSnapshot(r: SessionRecord): SessionSnapshot {
  return {
    sessionId: r._id,
    advertiserId: r.advertiserId,
    campaignId: r.campaignId,
    assetId: r.assetId ?? null,
    publisherId: r.publisherId,
    supportId: r.supportId ?? null,
    ip: r.ip,
    country: r.country ?? null,
    device: r.device,
    userAgent: r.userAgent ?? null,
    publisherData: r.publisherData ?? {},
    referrer: r.referrer ?? null,
    providers: r.providers,
    bot: r.bot,
    duplicate: r.duplicate,
    ...(r.nonNavigation ? { nonNavigation: true } : {}),
    createdAtMs: r.createdAt.getTime(),
    expiresAtMs: r.expiresAt.getTime(),
  };
}
