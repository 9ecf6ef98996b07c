import { Schema, model, type InferSchemaType } from 'mongoose';

export const PROVIDER_KINDS = ['campaign', 'publisher', 'business'] as const;

const providerSchema = new Schema(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    kind: { type: String, enum: PROVIDER_KINDS, required: true },
    /** Outbound notification template (postback macros); null: tracked but not notified. */
    notificationUrl: { type: String, default: null },
    status: { type: String, enum: ['active', 'archived'], default: 'active' },
  },
  { timestamps: true, versionKey: false },
);

export type ProviderDoc = InferSchemaType<typeof providerSchema>;
export const Provider = model('Provider', providerSchema, 'providers');
