import { Schema, model, type InferSchemaType } from 'mongoose';

const publisherSchema = new Schema(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    status: { type: String, enum: ['active', 'archived'], default: 'active' },
    /** Fired for every event without a specific URL below; null: no postback. */
    postbackUrl: { type: String, default: null },
    postbackUrls: { type: [new Schema({ event: String, url: String }, { _id: false })], default: [] },
    /** The publisher provider: the intermediary that supplied this traffic. */
    providerId: { type: String, default: null },
  },
  { timestamps: true, versionKey: false },
);

export type PublisherDoc = InferSchemaType<typeof publisherSchema>;
export const Publisher = model('Publisher', publisherSchema, 'publishers');
