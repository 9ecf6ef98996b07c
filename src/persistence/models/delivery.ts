import { Schema, model } from 'mongoose';
import { rawCollection } from '../raw-collection';
import type { DeliveryRequest } from '../../domain/session';

/** One document per outbound attempt (publisher postback or provider notification). */
export interface DeliveryAttemptRecord extends DeliveryRequest {
  _id: string;
  attempt: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  outcome: 'delivered' | 'failed' | 'given_up';
  at: Date;
}

const deliverySchema = new Schema(
  {
    _id: String,
    deliveryId: String,
    conversionId: String,
    sessionId: String,
    target: String,
    targetId: String,
    url: String,
    attempt: Number,
    statusCode: Number,
    latencyMs: Number,
    error: String,
    outcome: String,
    at: Date,
  },
  { versionKey: false },
);
deliverySchema.index({ conversionId: 1, at: 1 });
deliverySchema.index({ deliveryId: 1, attempt: 1 });
deliverySchema.index({ outcome: 1, at: 1 });
// List filters: a session's deliveries, and a publisher key's own grouped by delivery id.
deliverySchema.index({ sessionId: 1 });
deliverySchema.index({ target: 1, targetId: 1, deliveryId: 1 });

export const Delivery = model<DeliveryAttemptRecord>('Delivery', deliverySchema, 'deliveries');
export const deliveries = rawCollection(Delivery);
