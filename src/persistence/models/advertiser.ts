import { Schema, model, type InferSchemaType } from 'mongoose';

const advertiserSchema = new Schema(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    /** Shared secret the advertiser's server sends as `token` on postbacks. */
    postbackToken: { type: String, required: true },
    /** IPs or CIDRs allowed to call the postback; empty = any. */
    ipAllowlist: { type: [String], default: [] },
    status: { type: String, enum: ['active', 'archived'], default: 'active' },
    /** What this advertiser's pixel may do (src/domain/pixel-policy.ts); the default is an open pixel. */
    pixel: {
      enabled: { type: Boolean, default: true },
      allowedHosts: { type: [String], default: [] },
      cookieOnly: { type: Boolean, default: false },
    },
  },
  { timestamps: true, versionKey: false },
);

export type AdvertiserDoc = InferSchemaType<typeof advertiserSchema>;
export const Advertiser = model('Advertiser', advertiserSchema, 'advertisers');
