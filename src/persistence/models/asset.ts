import { Schema, model, type InferSchemaType } from 'mongoose';

const assetSchema = new Schema(
  {
    _id: { type: String, required: true },
    campaignId: { type: String, required: true, index: true },
    name: { type: String, required: true },
    kind: { type: String, enum: ['banner', 'mailer', 'text', 'video', 'other'], default: 'banner' },
    /** Overrides the campaign's landing URL for clicks on this asset. */
    url: { type: String, default: null },
    status: { type: String, enum: ['active', 'archived'], default: 'active' },
  },
  { timestamps: true, versionKey: false },
);

export type AssetDoc = InferSchemaType<typeof assetSchema>;
export const Asset = model('Asset', assetSchema, 'assets');
