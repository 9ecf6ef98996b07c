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
  /** pixel: unauthenticated; postback: the advertiser's token; api: an advertiser or operator key. */
  source: 'pixel' | 'postback' | 'api';
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
  /** An API decision names the conversion it approves or rejects, why, and who decided. */
  decision?: StatusDecision;
  /**
   * The campaign's event rules as the hand-over read them when it signalled (null: the campaign no
   * longer exists). The session decides with them instead of loading them in a step of its own.
   * Absent where the sender had none at hand (API decisions, fallbacks) and in older signals.
   */
  eventRules?: EventRule[] | null;
}

export interface StatusDecision {
  conversionId: string;
  reason: string;
  /** `operator:<key id>` or `advertiser:<advertiser id>`. */
  by: string;
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

export interface DecideOptions {
  /**
   * Sessions recorded before the pixel lost the right to change a status replay with the old rule
   * (the workflow passes `true` only for histories without the patch marker).
   */
  pixelMayUpdate?: boolean;
}

export function decide(
  counted: readonly CountedConversion[],
  req: ConversionRequest,
  rules: readonly EventRule[] | null,
  expiresAtMs: number,
  opts: DecideOptions = {},
): Decision {
  if (req.decision) return decideByApi(counted, req, req.decision);
  if (req.receivedAtMs > expiresAtMs) return { kind: 'ignore', reason: 'attribution window closed' };
  // Only the advertiser's token or an API key decides a status: a pixel matching a counted
  // conversion is a repeat, never an update.
  const mayUpdate = req.source !== 'pixel' || opts.pixelMayUpdate === true;

  const sameTx = req.txid === null ? undefined : counted.find((c) => c.txid === req.txid);
  if (sameTx) {
    if (sameTx.status !== req.status && !mayUpdate) return { kind: 'ignore', reason: `transaction ${req.txid} already counted; a pixel cannot change its status` };
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
      return req.txid === null && sameEvent.status !== req.status && mayUpdate
        ? { kind: 'update', conversionId: sameEvent.conversionId, status: req.status }
        : { kind: 'ignore', reason: `event "${req.event}" already counted for this session`, duplicate: true };
    }
  }

  const usesAmount = rule.payout.kind === 'percent' || rule.revenue.kind === 'percent';
  if (usesAmount && req.amountMinor !== null && req.amountCurrency !== null && req.amountCurrency !== rule.currency) {
    return { kind: 'ignore', reason: `amount in ${req.amountCurrency}, event "${rule.name}" pays in ${rule.currency}` };
  }
  const payoutMinor = amountFor(rule.payout, req.amountMinor);
  const revenueMinor = req.revenueMinor ?? amountFor(rule.revenue, req.amountMinor);
  // Rules saved before percentages were capped could still overflow: refuse, never throw (a throw
  // here would fail the workflow task over and over).
  if (payoutMinor === null || revenueMinor === null) return { kind: 'ignore', reason: `amount too large for the rules of event "${rule.name}"` };
  return { kind: 'record', rule, payoutMinor, revenueMinor };
}

/** An API decision applies to the conversion it names, whatever the window: it is not a new conversion. */
function decideByApi(counted: readonly CountedConversion[], req: ConversionRequest, d: StatusDecision): Decision {
  const target = counted.find((c) => c.conversionId === d.conversionId);
  if (!target) return { kind: 'ignore', reason: `conversion ${d.conversionId} is not counted on this session` };
  if (target.status === req.status) return { kind: 'ignore', reason: `conversion ${d.conversionId} is already ${req.status}` };
  return { kind: 'update', conversionId: target.conversionId, status: req.status };
}

function amountFor(rule: AmountRule, amountMinor: number | null): number | null {
  if (rule.kind === 'fixed') return rule.value;
  try {
    return percentOf(amountMinor ?? 0, rule.value);
  } catch {
    return null;
  }
}

/** The session's final status when its window closes. */
export function finalStatus(counted: readonly CountedConversion[]): 'converted' | 'expired' {
  return counted.some((c) => c.status !== 'rejected') ? 'converted' : 'expired';
}
