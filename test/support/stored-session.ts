import { v7 as uuidv7 } from 'uuid';
import type { SessionSnapshot } from '../../src/domain/session';
import { sessionRecord, sessions } from '../../src/persistence/models/session';
import { sessionWorkflow } from '../../workflows/session';
import type { Fixture } from './fixtures';
import type { TestApp } from './harness';

// A session workflow started the way the hand-over starts one (the app's own start options) for a
// click already stored. Tests choose what `sessionStored` says.

export function sessionOf(f: Fixture, windowMs: number): SessionSnapshot {
  const now = Date.now();
  return {
    sessionId: uuidv7({ msecs: now }), advertiserId: f.advertiserId, campaignId: f.campaignId, assetId: null, publisherId: f.publisherId,
    supportId: null, ip: '203.0.113.9', country: null, device: { type: 'desktop', os: null, browser: null, vendor: null, model: null },
    userAgent: null, publisherData: {}, referrer: null, providers: { campaign: f.campaignProviderId, publisher: f.publisherProviderId, business: f.businessProviderId },
    bot: false, duplicate: false, createdAtMs: now, expiresAtMs: now + windowMs,
  };
}

/** Stores the session as the click does (marked started, so the recovery sweep leaves it alone). */
export async function storeSession(session: SessionSnapshot, extra: Record<string, unknown> = {}): Promise<void> {
  await sessions().insertOne({ ...sessionRecord(session, true), ...extra });
}

/** `sessionStored` undefined: started without the flag, as sessions were before the hand-over. */
export function startSessionWorkflow(app: TestApp, session: SessionSnapshot, sessionStored: boolean | undefined) {
  const options = app.temporal.startOptions(session, sessionStored ?? false);
  if (sessionStored === undefined) delete options.args[0].sessionStored;
  return app.temporal.client.workflow.start(sessionWorkflow, options);
}
