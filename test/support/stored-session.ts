import { TypedSearchAttributes } from '@temporalio/common';
import { v7 as uuidv7 } from 'uuid';
import type { SessionSnapshot } from '../../src/domain/session';
import { sessionRecord, sessions } from '../../src/persistence/models/session';
import { AdvertiserId, CampaignId, Country, DeviceType, PublisherId, SessionStatus } from '../../workflows/definitions';
import { sessionWorkflow } from '../../workflows/session';
import type { Fixture } from './fixtures';
import type { TestApp } from './harness';

// A session workflow started the way the hand-over starts one: for a click already stored, with
// the search attributes the client gives at start. Tests choose what `sessionStored` says.

export function sessionOf(f: Fixture, windowMs: number): SessionSnapshot {
  const now = Date.now();
  return {
    sessionId: uuidv7(), advertiserId: f.advertiserId, campaignId: f.campaignId, assetId: null, publisherId: f.publisherId,
    supportId: null, ip: '203.0.113.9', country: null, device: { type: 'desktop', os: null, browser: null, vendor: null, model: null },
    userAgent: null, publisherData: {}, referrer: null, providers: { campaign: f.campaignProviderId, publisher: f.publisherProviderId, business: f.businessProviderId },
    bot: false, duplicate: false, createdAtMs: now, expiresAtMs: now + windowMs,
  };
}

/** Stores the session as the click does (marked started, so the recovery sweep leaves it alone). */
export async function storeSession(session: SessionSnapshot, extra: Record<string, unknown> = {}): Promise<void> {
  await sessions().insertOne({ ...sessionRecord(session, true), ...extra });
}

export function startSessionWorkflow(app: TestApp, session: SessionSnapshot, sessionStored: boolean | undefined) {
  return app.temporal.client.workflow.start(sessionWorkflow, {
    workflowId: session.sessionId,
    taskQueue: app.config.TEMPORAL_TASK_QUEUE,
    args: [
      {
        session,
        delivery: {
          initialIntervalMs: app.config.DELIVERY_RETRY_INITIAL_MS,
          maximumIntervalMs: app.config.DELIVERY_RETRY_MAX_MS,
          maximumAttempts: app.config.DELIVERY_MAX_ATTEMPTS,
          timeoutMs: app.config.DELIVERY_TIMEOUT_MS,
        },
        closeGraceMs: app.config.SESSION_CLOSE_GRACE_MS,
        ...(sessionStored === undefined ? {} : { sessionStored }),
      },
    ],
    typedSearchAttributes: new TypedSearchAttributes([
      { key: CampaignId, value: session.campaignId },
      { key: AdvertiserId, value: session.advertiserId },
      { key: PublisherId, value: session.publisherId },
      { key: SessionStatus, value: 'open' },
      { key: Country, value: session.country ?? 'unknown' },
      { key: DeviceType, value: session.device.type },
    ]),
  });
}
