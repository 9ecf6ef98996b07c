import { Schema, model, type InferSchemaType } from 'mongoose';

export const DEFAULT_ATTRIBUTION_WINDOW_SEC = 30 * 24 * 3600;

/** fixed: `value` minor units; percent: `value` basis points of the reported sale amount. */
const amountRuleSchema = new Schema(
  { kind: { type: String, enum: ['fixed', 'percent'], default: 'fixed' }, value: { type: Number, default: 0, min: 0 } },
  { _id: false },
);

const eventSchema = new Schema(
  {
    name: { type: String, required: true },
    payout: { type: amountRuleSchema, default: () => ({}) },
    revenue: { type: amountRuleSchema, default: () => ({}) },
    currency: { type: String, required: true },
    /** Counted once per session unless repeatable; a repeated txid never counts twice either way. */
    repeatable: { type: Boolean, default: false },
    /** The largest sale amount (minor units of `currency`) a conversion may report; null: the global cap only. */
    maxAmountMinor: { type: Number, default: null, min: 0 },
  },
  { _id: false },
);

const campaignSchema = new Schema(
  {
    _id: { type: String, required: true },
    // Immutable: an advertiser's sessions are read as its campaigns' (advertiser-campaigns.ts).
    advertiserId: { type: String, required: true, index: true, immutable: true },
    name: { type: String, required: true },
    status: { type: String, enum: ['active', 'paused', 'archived'], default: 'active' },
    /** auto: conversions are approved at once; manual: pending until the advertiser or operator decides. */
    approvalMode: { type: String, enum: ['auto', 'manual'], default: 'auto' },
    landingUrl: { type: String, required: true },
    fallbackUrl: { type: String, default: null },
    attributionWindowSec: { type: Number, default: DEFAULT_ATTRIBUTION_WINDOW_SEC, min: 1 },
    events: { type: [eventSchema], default: [] },
    /** The event a conversion without one counts as; null: a conversion must name its event. */
    defaultEvent: { type: String, default: null },
    publisherAccess: { type: String, enum: ['all', 'allowlist'], default: 'all' },
    allowedPublisherIds: { type: [String], default: [] },
    providers: {
      campaign: { type: String, default: null },
      business: { type: String, default: null },
    },
    /** Empty lists mean no restriction. */
    targeting: {
      countries: { type: [String], default: [] },
      deviceTypes: { type: [String], default: [] },
    },
  },
  { timestamps: true, versionKey: false },
);

export type CampaignDoc = InferSchemaType<typeof campaignSchema>;
export type CampaignEvent = InferSchemaType<typeof eventSchema>;
export const Campaign = model('Campaign', campaignSchema, 'campaigns');
