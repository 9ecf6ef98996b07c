import type { ConversionRecord } from '../../persistence/models/conversion';
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

export const present = ({ _id, ...rest }: { _id: string } & Record<string, unknown>) => ({ id: _id, ...rest });
// The hand-over's lease is its own bookkeeping, not the session's.
export const sessionView = ({ handoverLease: _lease, ...doc }: { _id: string; ip?: string | null } & Record<string, unknown>, p: Principal) => ({ ...present(doc), ip: visibleIp(doc.ip, p) });
