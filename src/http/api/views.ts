import { Conversion, type ConversionRecord } from '../../persistence/models/conversion';
import { Session } from '../../persistence/models/session';
import { recordSchemaOf } from './record-schema';
import type { Principal } from './principal';
import { visibleIp } from './visitor-ip';

// How traffic records are presented to a key (what each kind may see), shared by the routers.

/** A conversion as a key may see it: publishers do not see revenue, advertisers not the payout. */
export function conversionView(c: ConversionRecord, p: Principal): Record<string, unknown> {
  const { _id, txidKey: _k, ...rest } = c;
  const out: Record<string, unknown> = { id: _id, ...rest };
  if (p.kind === 'publisher') {
    // The publisher sees why a status changed, not who (an operator key id) nor the other conversion.
    delete out.revenueMinor;
    delete out.statusDecidedBy;
    delete out.statusDecisionId;
    delete out.supersededBy;
  }
  if (p.kind === 'advertiser') delete out.payoutMinor;
  return out;
}

/** A conversion as answered; the fields a kind of key does not see are optional. */
export const CONVERSION = recordSchemaOf(Conversion, {
  omit: ['txidKey'],
  required: ['id', 'sessionId', 'advertiserId', 'campaignId', 'publisherId', 'event', 'currency', 'payoutMinor', 'revenueMinor', 'status', 'source', 'createdAt'],
  optional: ['payoutMinor', 'revenueMinor'],
  extra: { status: { type: 'string', enum: ['approved', 'pending', 'rejected'] }, source: { type: 'string', enum: ['pixel', 'postback'] } },
});

/** A session as answered (written raw by the click path: only what every click stores is required). */
export const SESSION = recordSchemaOf(Session, {
  omit: ['handoverLease'],
  required: ['id', 'advertiserId', 'campaignId', 'publisherId', 'ip', 'createdAt', 'expiresAt', 'status'],
  nullable: ['ip'],
  extra: { status: { type: 'string', enum: ['open', 'converted', 'expired'] } },
});

export const present = ({ _id, ...rest }: { _id: string } & Record<string, unknown>) => ({ id: _id, ...rest });
// The hand-over's lease is its own bookkeeping, not the session's.
export const sessionView = ({ handoverLease: _lease, ...doc }: { _id: string; ip?: string | null } & Record<string, unknown>, p: Principal) => ({ ...present(doc), ip: visibleIp(doc.ip, p) });
