import type { EventRule } from '../src/domain/attribution-rules';
import type { SessionSnapshot } from '../src/domain/session';
import type { ConfigCache } from '../src/persistence/config-cache';
import { sessions, sessionRecord } from '../src/persistence/models/session';
import { markChanged } from '../src/reports/rollup-writer';

export function sessionActivities(cache: ConfigCache) {
  return {
    /**
     * Makes the session durable and marks its workflow as started. Usually the click path has
     * inserted it already; when MongoDB was down at the click, this is where it first lands.
     */
    async persistSession(session: SessionSnapshot): Promise<void> {
      const { workflowStarted: _ignored, ...record } = sessionRecord(session, true);
      const stored = await sessions().updateOne(
        { _id: session.sessionId },
        { $setOnInsert: record, $set: { workflowStarted: true } },
        { upsert: true },
      );
      // Stored here, maybe long after its click (or by an earlier attempt of this activity): its
      // quarter-hour's report rollups are recomputed. A fresh click's quarter the writer marks itself.
      if (stored.upsertedCount > 0 || Date.now() - session.createdAtMs > 60_000) await markChanged(session.createdAtMs);
    },

    async closeSession(sessionId: string, status: 'converted' | 'expired'): Promise<void> {
      await sessions().updateOne({ _id: sessionId }, { $set: { status } });
    },

    /** The campaign's conversion events as they are now (null: the campaign no longer exists). */
    async loadEventRules(campaignId: string): Promise<EventRule[] | null> {
      return cache.eventRules(campaignId);
    },
  };
}
