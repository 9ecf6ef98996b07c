import { Schema, model, type InferSchemaType } from 'mongoose';

const supportSchema = new Schema(
  {
    _id: { type: String, required: true },
    publisherId: { type: String, required: true, index: true },
    name: { type: String, required: true },
    kind: { type: String, enum: ['site', 'newsletter', 'placement', 'app', 'other'], default: 'site' },
    url: { type: String, default: null },
    status: { type: String, enum: ['active', 'archived'], default: 'active' },
  },
  { timestamps: true, versionKey: false },
);

export type SupportDoc = InferSchemaType<typeof supportSchema>;
export const Support = model('Support', supportSchema, 'supports');
