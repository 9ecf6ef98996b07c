// One scenario's books, read back from where each thing lives (the load generator's answers,
// MongoDB, Temporal's visibility store, the publisher sink), and the rules they must satisfy.
// Pure: the runner reads the numbers, this decides whether they balance.

export interface Ledger {
  /** Clicks answered 302 with a click id in the landing URL. */
  clicksAnswered: number;
  /** Clicks answered otherwise, or not at all (network error, timeout). */
  clicksFailed: number;
  /** Of the answered clicks, sessions found in MongoDB. */
  sessionsStored: number;
  /** Sessions of the scenario's campaign in MongoDB (catches sessions nobody was answered for). */
  sessionsInCampaign: number;
  /** Session workflows Temporal knows for the scenario's campaign. */
  workflowsStarted: number;
  /** Postbacks answered 202. */
  postbacksAccepted: number;
  /** Postbacks the load generator gave up retrying (503s or network errors until its deadline): never accepted. */
  postbacksGivenUp: number;
  /**
   * Postbacks answered 4xx. Every postback of the load is one a real advertiser would send (its
   * token, a click id it was given, a transaction of its own), so a refusal is a conversion lost:
   * its sender does not retry it.
   */
  postbacksRefused: number;
  /** Conversions of the scenario's campaign in MongoDB. */
  conversionsRecorded: number;
  /** Accepted postbacks the session workflow decided not to count, with the reason stored. */
  rejectedWithReason: number;
  /** Accepted postbacks with no decision yet. */
  undecided: number;
  /** Distinct publisher postbacks (one per conversion) clicktrail logged as delivered. */
  deliveriesDelivered: number;
  /** Distinct conversions the publisher sink answered 200 for. */
  sinkReceived: number;
  /** 200 answers beyond the first, per conversion and status: the publisher paid twice. */
  sinkDuplicates: number;
}

/** What does not balance, in words; empty when the scenario lost and duplicated nothing. */
export function imbalances(l: Ledger): string[] {
  const out: string[] = [];
  const differ = (what: string, pairs: [string, number][]) => {
    if (new Set(pairs.map(([, n]) => n)).size > 1) out.push(`${what}: ${pairs.map(([k, n]) => `${k} ${n}`).join(' ≠ ')}`);
  };
  if (l.clicksFailed > 0) out.push(`${l.clicksFailed} click(s) not answered with a redirect`);
  differ('clicks', [
    ['answered', l.clicksAnswered],
    ['stored', l.sessionsStored],
    ['in campaign', l.sessionsInCampaign],
    ['workflows', l.workflowsStarted],
  ]);
  if (l.undecided > 0) out.push(`${l.undecided} accepted postback(s) without a decision`);
  if (l.postbacksRefused > 0) out.push(`${l.postbacksRefused} postback(s) refused (4xx): conversions their senders will not send again`);
  if (l.postbacksAccepted !== l.conversionsRecorded + l.rejectedWithReason) {
    out.push(`postbacks: accepted ${l.postbacksAccepted} ≠ recorded ${l.conversionsRecorded} + rejected with a reason ${l.rejectedWithReason}`);
  }
  differ('conversions', [
    ['recorded', l.conversionsRecorded],
    ['delivered', l.deliveriesDelivered],
    ['at the sink', l.sinkReceived],
  ]);
  if (l.sinkDuplicates > 0) out.push(`${l.sinkDuplicates} duplicate postback(s) at the sink`);
  return out;
}
