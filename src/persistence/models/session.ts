import { Schema, model } from 'mongoose';

export type SessionStatus = 'open' | 'converted' | 'expired';

export interface DeviceInfo {
  type: string;
  os: string | null;
  browser: string | null;
  vendor: string | null;
  model: string | null;
}

export interface ConversionSummary {
  conversionId: string;
  event: string;
  txid: string | null;
  status: string;
  payoutMinor: number;
  currency: string;
  at: Date;
}

/** The session document as the click path writes it (inserted raw, without mongoose casting, for speed). */
export interface SessionRecord {
  _id: string;
  advertiserId: string;
  campaignId: string;
  assetId: string | null;
  publisherId: string;
  supportId: string | null;
  ip: string;
  country: string | null;
  device: DeviceInfo;
  userAgent: string | null;
  publisherData: Record<string, string>;
  referrer: string | null;
  providers: { campaign: string | null; publisher: string | null; business: string | null };
  bot: boolean;
  duplicate: boolean;
  createdAt: Date;
  expiresAt: Date;
  status: SessionStatus;
  /** false until the session workflow has persisted itself; the recovery sweep starts the rest. */
  workflowStarted: boolean;
  conversions: ConversionSummary[];
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
    createdAt: Date,
    expiresAt: Date,
    status: String,
    workflowStarted: Boolean,
    conversions: { type: [Schema.Types.Mixed], default: [] },
  },
  { versionKey: false, minimize: false },
);
sessionSchema.index({ workflowStarted: 1, createdAt: 1 });
sessionSchema.index({ campaignId: 1, createdAt: 1 });
sessionSchema.index({ publisherId: 1, createdAt: 1 });
sessionSchema.index({ advertiserId: 1, createdAt: 1 });
sessionSchema.index({ createdAt: 1 });

export const Session = model<SessionRecord>('Session', sessionSchema, 'sessions');
