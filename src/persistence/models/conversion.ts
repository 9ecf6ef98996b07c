import { Schema, model } from 'mongoose';
import { rawCollection } from '../raw-collection';
import type { ConversionStatus } from '../../domain/attribution-rules';

export interface ConversionRecord {
  _id: string;
  sessionId: string;
  advertiserId: string;
  campaignId: string;
  publisherId: string;
  assetId: string | null;
  supportId: string | null;
  country: string | null;
  deviceType: string | null;
  bot: boolean;
  event: string;
  txid: string | null;
  /** advertiserId-scoped uniqueness: the txid, or the conversion id when there is none. */
  txidKey: string;
  /** What the advertiser reported (sale amount), in its own currency. */
  amountMinor: number | null;
  amountCurrency: string | null;
  /** Payout and revenue are in the event's currency. */
  currency: string;
  payoutMinor: number;
  revenueMinor: number;
  status: ConversionStatus;
  source: 'pixel' | 'postback';
  /** Why the status is what it is, when someone said so: an API decision's reason, a takeover. */
  statusReason?: string | null;
  /** Who set the status last: `postback`, `operator:<key id>`, `advertiser:<id>`. */
  statusDecidedBy?: string | null;
  /** The API decision (request id) that set the status of a conversion whose session had closed. */
  statusDecisionId?: string | null;
  /** The postback conversion that took this pixel conversion's transaction id over. */
  supersededBy?: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const conversionSchema = new Schema(
  {
    _id: String,
    sessionId: String,
    advertiserId: String,
    campaignId: String,
    publisherId: String,
    assetId: String,
    supportId: String,
    country: String,
    deviceType: String,
    bot: Boolean,
    event: String,
    txid: String,
    txidKey: String,
    amountMinor: Number,
    amountCurrency: String,
    currency: String,
    payoutMinor: Number,
    revenueMinor: Number,
    status: String,
    source: String,
    statusReason: String,
    statusDecidedBy: String,
    statusDecisionId: String,
    supersededBy: String,
    createdAt: Date,
    updatedAt: Date,
  },
  { versionKey: false },
);
// A repeated advertiser transaction id is never counted twice, even across sessions.
conversionSchema.index({ advertiserId: 1, txidKey: 1 }, { unique: true });
conversionSchema.index({ sessionId: 1 });
conversionSchema.index({ campaignId: 1, createdAt: 1 });
conversionSchema.index({ publisherId: 1, createdAt: 1 });
conversionSchema.index({ advertiserId: 1, createdAt: 1 });
conversionSchema.index({ createdAt: 1 });
// A scoped key's list pages (its conversions by id) without walking every other account's ids.
conversionSchema.index({ publisherId: 1, _id: 1 });
conversionSchema.index({ advertiserId: 1, _id: 1 });

export const Conversion = model<ConversionRecord>('Conversion', conversionSchema, 'conversions');
export const conversions = rawCollection(Conversion);
