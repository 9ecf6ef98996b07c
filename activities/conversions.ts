import { ApplicationFailure } from '@temporalio/activity';
import type { ConversionRequest, ConversionStatus, StatusDecision } from '../src/domain/attribution-rules';
import type { DeliveryRequest, SessionSnapshot } from '../src/domain/session';
import type { Logger } from '../src/log';
import type { ConfigCache } from '../src/persistence/config-cache';
import { conversions, type ConversionRecord } from '../src/persistence/models/conversion';
import { sessions } from '../src/persistence/models/session';
import { markChanged, needsMark } from '../src/reports/rollup-writer';
import { planNotifications } from './notification-plan';
import { writeDecision } from './inbound-decisions';

export interface RecordConversionInput {
  session: SessionSnapshot;
  conversionId: string;
  request: ConversionRequest;
  payoutMinor: number;
  revenueMinor: number;
  currency: string;
  /**
   * Also write the request's decision ('recorded') when it is recorded, saving the session a
   * separate step (one local activity, one workflow activation) per conversion. Absent: the session
   * writes it itself, as sessions started before this did.
   */
  recordDecision?: boolean;
}

const isDuplicateKey = (err: unknown) => (err as { code?: number })?.code === 11000;

/** `rollupLateMs`: ROLLUP_LATE_MS, which lets a conversion recorded soon after it was received skip its rollup mark (0: always marked). */
export function conversionActivities(cache: ConfigCache, log: Logger, rollupLateMs = 0) {
  return {
    /**
     * Records a conversion exactly once: its id comes from the workflow (the same on retry), and
     * the (advertiser, txid) unique index refuses a transaction id another session already counted.
     */
    async recordConversion(input: RecordConversionInput): Promise<RecordConversionResult> {
      const { session, conversionId, request } = input;
      if (request.source === 'api') throw ApplicationFailure.nonRetryable('an API decision never records a conversion', 'NotAConversion');
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
        statusDecidedBy: request.source,
        createdAt: at,
        updatedAt: at,
      };
      let superseded: RecordConversionResult['superseded'] = null;
      for (let tries = 1; ; tries++) {
        try {
          await conversions().insertOne(doc);
          break;
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          const existing = await conversions().findOne(
            { advertiserId: doc.advertiserId, txidKey: doc.txidKey },
            { projection: { _id: 1, source: 1, sessionId: 1, createdAt: 1 } },
          );
          if (existing) {
            // Our own insert from an earlier attempt of this activity is not a duplicate.
            if (existing._id === conversionId) break;
            if (!(request.source === 'postback' && existing.source === 'pixel')) return { duplicateOf: existing._id, deliveries: [], superseded: null };
            superseded = await takeOver(doc, existing);
            await markChanged(existing.createdAt);
            break;
          }
          if (await conversions().findOne({ _id: conversionId }, { projection: { _id: 1 } })) break;
          // The holder of the transaction id let go of it in between (taken over): insert again. Never
          // report as recorded what was not.
          if (tries >= 3) throw ApplicationFailure.nonRetryable(`conversion ${conversionId} not recorded: ${String((err as Error).message)}`, 'ConversionNotRecorded');
        }
      }
      // Report rollups recompute its quarter-hour (before anything else can fail and retry), unless
      // the writer has yet to read it.
      if (needsMark(doc.createdAt.getTime(), Date.now(), rollupLateMs)) await markChanged(doc.createdAt);
      // Lists and reports filter on the stored status: a session converts when its first conversion
      // counts, not only when its window closes (it cannot be expired while conversions count).
      if (request.status !== 'rejected') {
        await sessions().updateOne({ _id: session.sessionId }, { $set: { status: 'converted' } });
      }
      if (input.recordDecision) await writeDecision({ requestId: request.requestId, sessionId: session.sessionId, outcome: 'recorded', reason: null, conversionId });
      return { duplicateOf: null, deliveries: await planNotifications(cache, log, session, doc, 1), superseded };
    },

    async updateConversionStatus(input: {
      session: SessionSnapshot;
      conversionId: string;
      status: ConversionStatus;
      notification: number;
      /** An API decision's reason and author; a postback's update has neither. */
      reason?: string;
      decidedBy?: string;
    }): Promise<DeliveryRequest[]> {
      const updated = await conversions().findOneAndUpdate(
        { _id: input.conversionId },
        { $set: { status: input.status, statusReason: input.reason ?? null, statusDecidedBy: input.decidedBy ?? 'postback', updatedAt: new Date() } },
        { returnDocument: 'after' },
      );
      // Retrying cannot make it appear: the session records the request as ignored with this reason.
      if (!updated) throw ApplicationFailure.nonRetryable(`conversion ${input.conversionId} not found`, 'ConversionNotFound');
      // A status that counts (rejected → approved) converts an open session, as a first conversion does.
      if (input.status !== 'rejected') await sessions().updateOne({ _id: input.session.sessionId, status: 'open' }, { $set: { status: 'converted' } });
      await markChanged(updated.createdAt);
      return planNotifications(cache, log, input.session, updated, input.notification);
    },

    /**
     * An API decision on a conversion whose session workflow has closed: applied here, once per
     * decision (its request id names the notifications, so a retry plans the same ones).
     */
    async applyClosedSessionDecision(input: {
      session: SessionSnapshot;
      requestId: string;
      status: ConversionStatus;
      decision: StatusDecision;
    }): Promise<DeliveryRequest[]> {
      const { decision } = input;
      const updated = await conversions().findOneAndUpdate(
        { _id: decision.conversionId, $or: [{ status: { $ne: input.status } }, { statusDecisionId: input.requestId }] },
        { $set: { status: input.status, statusReason: decision.reason, statusDecidedBy: decision.by, statusDecisionId: input.requestId, updatedAt: new Date() } },
        { returnDocument: 'after' },
      );
      if (!updated) return [];
      await markChanged(updated.createdAt);
      return planNotifications(cache, log, input.session, updated, input.requestId);
    },
  };
}

export interface RecordConversionResult {
  duplicateOf: string | null;
  deliveries: DeliveryRequest[];
  /** The pixel conversion whose transaction id this postback took over (on another session). */
  superseded?: { conversionId: string; sessionId: string } | null;
}

/**
 * The advertiser's authenticated postback wins a transaction id a pixel claimed first: the pixel's
 * conversion gives up the id (kept, rejected, with the reason) and the postback's is stored.
 */
async function takeOver(doc: ConversionRecord, existing: Pick<ConversionRecord, '_id' | 'sessionId'>): Promise<{ conversionId: string; sessionId: string }> {
  await conversions().updateOne(
    { _id: existing._id, txidKey: doc.txidKey },
    {
      $set: {
        txidKey: `${doc.txidKey}#superseded-by:${doc._id}`,
        status: 'rejected',
        statusReason: `transaction ${doc.txid} taken over by the advertiser's postback (conversion ${doc._id}, session ${doc.sessionId})`,
        statusDecidedBy: 'postback',
        supersededBy: doc._id,
        updatedAt: new Date(),
      },
    },
  );
  try {
    await conversions().insertOne(doc);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const holder = await conversions().findOne({ advertiserId: doc.advertiserId, txidKey: doc.txidKey }, { projection: { _id: 1 } });
    // Another postback took it in between: that one is the real duplicate of this one.
    if (holder && holder._id !== doc._id) throw new Error(`transaction ${doc.txid} taken by conversion ${holder._id} meanwhile; retrying`);
  }
  return { conversionId: existing._id, sessionId: existing.sessionId };
}
