import { inbounds, type InboundDecision } from '../src/persistence/models/inbound';

export interface DecisionInput {
  requestId: string;
  sessionId: string;
  outcome: InboundDecision['outcome'];
  reason: string | null;
  conversionId: string | null;
}

/**
 * Writes the session workflow's decision onto the pixel or postback request it came from, so that
 * `GET /postback/status` can tell the network. An upsert: the intake's own record of the request is
 * written without waiting and may land after this.
 */
export async function writeDecision(input: DecisionInput): Promise<void> {
  const decision: InboundDecision = { outcome: input.outcome, reason: input.reason, conversionId: input.conversionId, at: new Date() };
  await inbounds().updateOne({ _id: input.requestId }, { $set: { decision }, $setOnInsert: { sessionId: input.sessionId } }, { upsert: true });
}

export function inboundDecisionActivities() {
  return {
    async recordDecision(input: DecisionInput): Promise<void> {
      await writeDecision(input);
    },
  };
}
