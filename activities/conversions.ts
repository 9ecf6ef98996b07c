import type { ConversionRequest, ConversionStatus } from '../src/domain/attribution-rules';
import type { DeliveryRequest, SessionSnapshot } from '../src/domain/session';
import type { Logger } from '../src/log';
import type { ConfigCache } from '../src/persistence/config-cache';
import { conversions, type ConversionRecord } from '../src/persistence/models/conversion';
import { sessions } from '../src/persistence/models/session';
import { planNotifications } from './notification-plan';

export interface RecordConversionInput {
  session: SessionSnapshot;
  conversionId: string;
  request: ConversionRequest;
  payoutMinor: number;
  revenueMinor: number;
  currency: string;
}

const isDuplicateKey = (err: unknown) => (err as { code?: number })?.code === 11000;

export function conversionActivities(cache: ConfigCache, log: Logger) {
  return {
    /**
     * Records a conversion exactly once: its id comes from the workflow (the same on retry), and
     * the (advertiser, txid) unique index refuses a transaction id another session already counted.
     */
    async recordConversion(input: RecordConversionInput): Promise<{ duplicateOf: string | null; deliveries: DeliveryRequest[] }> {
      const { session, conversionId, request } = input;
      const at = new Date(request.receivedAtMs);
      const doc: ConversionRecord = {
        _id: conversionId,
        sessionId: session.sessionId,
        advertiserId: session.advertiserId,
        campaignId: session.campaignId,
        publisherId: session.publisherId,
        assetId: session.assetId,
        supportId: session.supportId,
        country: session.country,
        deviceType: session.device.type,
        bot: session.bot,
        event: request.event,
        txid: request.txid,
        txidKey: request.txid ?? conversionId,
        amountMinor: request.amountMinor,
        amountCurrency: request.amountMinor === null ? null : (request.amountCurrency ?? input.currency),
        currency: input.currency,
        payoutMinor: input.payoutMinor,
        revenueMinor: input.revenueMinor,
        status: request.status,
        source: request.source,
        createdAt: at,
        updatedAt: at,
      };
      try {
        await conversions().insertOne(doc);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const existing = await conversions().findOne(
          { advertiserId: doc.advertiserId, txidKey: doc.txidKey },
          { projection: { _id: 1 } },
        );
        // Our own insert from an earlier attempt of this activity is not a duplicate.
        if (existing && existing._id !== conversionId) return { duplicateOf: existing._id, deliveries: [] };
      }
      // Lists and reports filter on the stored status: a session converts when its first conversion
      // counts, not only when its window closes (it cannot be expired while conversions count).
      if (request.status !== 'rejected') {
        await sessions().updateOne({ _id: session.sessionId }, { $set: { status: 'converted' } });
      }
      return { duplicateOf: null, deliveries: await planNotifications(cache, log, session, doc, 1) };
    },

    async updateConversionStatus(input: {
      session: SessionSnapshot;
      conversionId: string;
      status: ConversionStatus;
      notification: number;
    }): Promise<DeliveryRequest[]> {
      const updated = await conversions().findOneAndUpdate(
        { _id: input.conversionId },
        { $set: { status: input.status, updatedAt: new Date() } },
        { returnDocument: 'after' },
      );
      if (!updated) throw new Error(`conversion ${input.conversionId} not found`);
      return planNotifications(cache, log, input.session, updated, input.notification);
    },
  };
}
