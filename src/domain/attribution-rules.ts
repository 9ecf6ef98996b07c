import { percentOf } from './money';

// What a conversion signal does to a session, decided from the session's own state and the
// campaign's event rules. Pure: the session workflow runs it, so it must be deterministic.

export type ConversionStatus = 'approved' | 'pending' | 'rejected';

export interface AmountRule {
  kind: 'fixed' | 'percent';
  /** fixed: minor units of the event currency; percent: basis points of the reported amount. */
  value: number;
}

export interface EventRule {
  name: string;
  payout: AmountRule;
  revenue: AmountRule;
  currency: string;
  repeatable: boolean;
}

export interface ConversionRequest {
  /** Unique per inbound request: a redelivered signal carries the same id. */
  requestId: string;
  source: 'pixel' | 'postback';
  event: string;
  txid: string | null;
  amountMinor: number | null;
  amountCurrency: string | null;
  /**
   * What the advertiser reported paying for this conversion, in minor units of the event currency:
   * replaces the revenue rule. Absent in signals sent before it existed.
   */
  revenueMinor?: number | null;
  status: ConversionStatus;
  receivedAtMs: number;
}

export interface CountedConversion {
  conversionId: string;
  event: string;
  txid: string | null;
  status: ConversionStatus;
  payoutMinor: number;
  currency: string;
  /** How many times its notifications were fired (first record, then each status change). */
  notifications: number;
}

export type Decision =
  | { kind: 'record'; rule: EventRule; payoutMinor: number; revenueMinor: number }
  | { kind: 'update'; conversionId: string; status: ConversionStatus }
  /** duplicate: the conversion was counted already (same txid, or a non-repeatable event). */
  | { kind: 'ignore'; reason: string; duplicate?: true };

export function decide(
  counted: readonly CountedConversion[],
  req: ConversionRequest,
  rules: readonly EventRule[] | null,
  expiresAtMs: number,
): Decision {
  if (req.receivedAtMs > expiresAtMs) return { kind: 'ignore', reason: 'attribution window closed' };

  const sameTx = req.txid === null ? undefined : counted.find((c) => c.txid === req.txid);
  if (sameTx) {
    return sameTx.status === req.status
      ? { kind: 'ignore', reason: `transaction ${req.txid} already counted`, duplicate: true }
      : { kind: 'update', conversionId: sameTx.conversionId, status: req.status };
  }

  const rule = rules?.find((r) => r.name === req.event);
  if (!rule) return { kind: 'ignore', reason: `unknown event "${req.event}" for this campaign` };

  if (!rule.repeatable) {
    const sameEvent = counted.find((c) => c.event === req.event);
    if (sameEvent) {
      // Without a txid, the same event with another status is that conversion's status update.
      return req.txid === null && sameEvent.status !== req.status
        ? { kind: 'update', conversionId: sameEvent.conversionId, status: req.status }
        : { kind: 'ignore', reason: `event "${req.event}" already counted for this session`, duplicate: true };
    }
  }

  const usesAmount = rule.payout.kind === 'percent' || rule.revenue.kind === 'percent';
  if (usesAmount && req.amountMinor !== null && req.amountCurrency !== null && req.amountCurrency !== rule.currency) {
    return { kind: 'ignore', reason: `amount in ${req.amountCurrency}, event "${rule.name}" pays in ${rule.currency}` };
  }
  return {
    kind: 'record',
    rule,
    payoutMinor: amountFor(rule.payout, req.amountMinor),
    revenueMinor: req.revenueMinor ?? amountFor(rule.revenue, req.amountMinor),
  };
}

function amountFor(rule: AmountRule, amountMinor: number | null): number {
  return rule.kind === 'fixed' ? rule.value : percentOf(amountMinor ?? 0, rule.value);
}

/** The session's final status when its window closes. */
export function finalStatus(counted: readonly CountedConversion[]): 'converted' | 'expired' {
  return counted.some((c) => c.status !== 'rejected') ? 'converted' : 'expired';
}
