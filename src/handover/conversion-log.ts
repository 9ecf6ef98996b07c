import type { mongo } from 'mongoose';
import type { HandoverStateDoc } from '../persistence/models/handover-state';
import { inbounds, type InboundRecord } from '../persistence/models/inbound';
import * as ranges from './id-ranges';

// The inbound log's accepted conversions as a log the hand-over walks (id-ranges.ts): it signals
// them to their sessions. Rejected and duplicate requests share the id space and are passed over.

/**
 * Accepted and not handed over: no decision yet (a range claimed again after its holder died
 * passes over what its workflow already decided), and not marked signalled by an earlier version,
 * which marked each row instead of walking the log.
 */
const PENDING = { outcome: 'accepted', signalled: { $ne: true }, decision: { $exists: false } } as const;

export const CONVERSION_LOG: ranges.IdLog<InboundRecord> = { name: 'inbound', collection: () => inbounds(), pending: PENDING };

export const readConversionState = (): Promise<HandoverStateDoc> => ranges.readState(CONVERSION_LOG);

/** Accepted conversions past the cursor: no hand-over process has claimed them yet. */
export const waitingConversions = (s: HandoverStateDoc): mongo.Filter<InboundRecord> => ranges.waitingFilter(CONVERSION_LOG, s);

/** Accepted conversions not signalled yet: past the cursor, or in a claim not finished. */
export const unsignalledConversions = (s: HandoverStateDoc): mongo.Filter<InboundRecord> => ranges.notHandedOverFilter(CONVERSION_LOG, s);
