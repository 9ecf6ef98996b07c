import type { Request, RequestHandler, Response } from 'express';
import { clickMacroValues, fillUrl } from '../../domain/macros';
import { collectPublisherData } from '../../domain/publisher-data';
import type { SessionSnapshot } from '../../domain/session';
import type { DuplicateClicks } from '../../enrichment/duplicate-clicks';
import type { GeoLookup } from '../../enrichment/geo';
import { parseUserAgent } from '../../enrichment/user-agent';
import type { Logger } from '../../log';
import type { Metrics } from '../../metrics';
import type { Cached, ConfigCache } from '../../persistence/config-cache';
import type { CampaignDoc } from '../../persistence/models/campaign';
import { noteClickHeld } from '../../persistence/held-clicks';
import { sessionRecord, sessions } from '../../persistence/models/session';
import { withinBudget } from '../../persistence/operation-budget';
import type { SessionClient } from '../../temporal/session-client';
import { ID_RE, firstString } from '../http-error';
import { clickCookies } from '../tracking-cookies';
import { newSessionId } from '../../persistence/session-ids';

export interface ClickDeps {
  cache: ConfigCache;
  geo: GeoLookup;
  duplicates: DuplicateClicks;
  temporal: SessionClient;
  log: Logger;
  metrics: Metrics;
  secureCookies: boolean;
  publisherData: { maxParams: number; maxLength: number };
  /** SESSION_WORKFLOW_POLICY: whether bot and duplicate clicks wait for a conversion to start their workflow. */
  lazyBotsAndDuplicates: boolean;
}

const LINK_PARAMS = ['pub', 'asset', 'sup'] as const;

/**
 * GET /c/:campaignId — the tracked link. The session is durable (MongoDB insert acknowledged)
 * before the 302, and that insert is all: the hand-over (worker processes) starts its workflow.
 */
export function clickRoute(d: ClickDeps): RequestHandler {
  const publisherDataOptions = { ...d.publisherData, exclude: LINK_PARAMS };
  return async (req, res) => {
    const { log } = res.locals;
    const campaignId = firstString(req.params.campaignId) ?? '';
    const campaign = ID_RE.test(campaignId) ? await d.cache.campaigns.get(campaignId) : null;
    if (!campaign || campaign.status === 'archived') return refuse(res, null, 404, `unknown campaign "${campaignId}"`);

    const query = req.query as Record<string, unknown>;
    const pub = firstString(query.pub);
    if (!pub || !ID_RE.test(pub)) return refuse(res, campaign, 400, 'pub (the publisher id) is required');
    if (campaign.status !== 'active') return refuse(res, campaign, 404, 'campaign is paused');
    const publisher = await d.cache.publishers.get(pub);
    if (!publisher || publisher.status !== 'active') return refuse(res, campaign, 404, `unknown publisher "${pub}"`);
    if (campaign.publisherAccess === 'allowlist' && !campaign.allowedPublisherIds.includes(pub)) {
      return refuse(res, campaign, 404, 'publisher not allowed on this campaign');
    }

    const ip = req.ip ?? req.socket.remoteAddress ?? '';
    const country = d.geo.country(ip);
    const agent = parseUserAgent(req.get('user-agent'));
    const targeting = campaign.targeting;
    if (targeting?.countries?.length && !targeting.countries.includes(country ?? '')) {
      return refuse(res, campaign, 404, 'visitor country not targeted');
    }
    if (targeting?.deviceTypes?.length && !targeting.deviceTypes.includes(agent.device.type)) {
      return refuse(res, campaign, 404, 'visitor device not targeted');
    }

    const [asset, support] = await Promise.all([
      lookup(firstString(query.asset), (id) => d.cache.assets.get(id)),
      lookup(firstString(query.sup), (id) => d.cache.supports.get(id)),
    ]);
    const validAsset = asset && asset.campaignId === campaign._id && asset.status === 'active' ? asset : null;
    const validSupport = support && support.publisherId === pub && support.status === 'active' ? support : null;

    const now = Date.now();
    const session: SessionSnapshot = {
      // One clock reading for both: time ranges of sessions are read as ranges of ids (session-ids.ts).
      sessionId: newSessionId(now),
      advertiserId: campaign.advertiserId,
      campaignId: campaign._id,
      assetId: validAsset?._id ?? null,
      publisherId: pub,
      supportId: validSupport?._id ?? null,
      ip,
      country,
      device: agent.device,
      userAgent: req.get('user-agent')?.slice(0, 1024) ?? null,
      publisherData: collectPublisherData(query, publisherDataOptions).data,
      referrer: req.get('referer')?.slice(0, 2048) ?? null,
      providers: {
        campaign: campaign.providers?.campaign ?? null,
        publisher: publisher.providerId ?? null,
        business: campaign.providers?.business ?? null,
      },
      bot: agent.bot,
      duplicate: d.duplicates.check(ip, campaign._id, pub),
      ...(isNonNavigation(req) ? { nonNavigation: true } : {}),
      createdAtMs: now,
      expiresAtMs: now + campaign.attributionWindowSec * 1000,
    };

    const target = fillUrl(validAsset?.url ?? campaign.landingUrl, clickMacroValues(session));
    if (!target.ok) {
      log.error({ campaignId, reason: target.reason }, 'campaign landing URL is unusable');
      return refuse(res, campaign, 404, 'campaign landing URL is misconfigured');
    }

    const lazy = d.lazyBotsAndDuplicates && (session.bot || session.duplicate);
    const durable = await persist(d, log, session, target.url, lazy);
    if (durable !== 'mongodb') {
      d.metrics.dependencyErrors.inc({ dependency: 'mongodb', operation: 'session_insert' });
      d.metrics.clickStoreFallbacks.inc({ to: durable === 'temporal' ? 'temporal' : 'log' });
    }
    res.locals.clickOutcome = session.bot ? 'bot' : session.duplicate ? 'duplicate' : 'redirected';
    res.setHeader('Location', target.url);
    res.setHeader('Cache-Control', 'no-store');
    // An <img> or <iframe> must not overwrite the visitor's last click (cookie stuffing, audit M4).
    if (!session.nonNavigation) res.setHeader('Set-Cookie', clickCookies(session.sessionId, campaign._id, campaign.attributionWindowSec, d.secureCookies));
    res.writeHead(302);
    res.end();
  };
}

/**
 * A request the browser itself marks as not a top-level navigation (Fetch Metadata headers). Old
 * browsers and servers send neither header and count as navigations.
 */
function isNonNavigation(req: Request): boolean {
  const mode = req.get('sec-fetch-mode');
  const dest = req.get('sec-fetch-dest');
  return (mode !== undefined && mode !== 'navigate') || (dest !== undefined && dest !== 'document');
}

async function lookup<T>(id: string | undefined, get: (id: string) => Promise<T | null>): Promise<T | null> {
  return id && ID_RE.test(id) ? get(id) : null;
}

/**
 * MongoDB first; if it is down, frozen or slower than MONGO_OP_TIMEOUT_MS, Temporal holds the
 * session: the one Temporal call a click may make. That workflow stores the session itself (its
 * first activity, an upsert, so an insert landing late does no harm), lazy or not: without MongoDB
 * there is no other place to keep it.
 */
async function persist(d: ClickDeps, log: Logger, session: SessionSnapshot, landingUrl: string, lazy: boolean): Promise<'mongodb' | 'temporal' | 'lost'> {
  try {
    await withinBudget(sessions().insertOne(sessionRecord(session, lazy ? 'lazy' : false, landingUrl)), 'session insert');
    return 'mongodb';
  } catch (err) {
    log.error({ sessionId: session.sessionId, err: String(err) }, 'session insert failed; handing it to Temporal');
  }
  try {
    await d.temporal.startSession(session, { sessionStored: false, landingUrl });
    noteClickHeld(session.createdAtMs);
    return 'temporal';
  } catch (err) {
    // The visitor is still redirected: the full session is in this log line for replay.
    log.fatal({ session, err: String(err) }, 'click not recorded: MongoDB and Temporal both unavailable');
    return 'lost';
  }
}

/** Paused, not allowed, not targeted…: the campaign's fallback URL when it has one. */
function refuse(res: Response, campaign: Cached<CampaignDoc> | null, status: number, reason: string): void {
  const fallback = campaign?.fallbackUrl ? fillUrl(campaign.fallbackUrl, fallbackValues(res.req, campaign)) : null;
  res.locals.clickOutcome = fallback?.ok ? 'fallback' : status === 400 ? 'bad_request' : 'not_found';
  if (fallback?.ok) {
    res.writeHead(302, { Location: fallback.url, 'Cache-Control': 'no-store' });
    res.end();
    return;
  }
  res.status(status).type('text/plain').set('Cache-Control', 'no-store').send(`${reason}\n`);
}

function fallbackValues(req: Request, campaign: Cached<CampaignDoc>) {
  const query = req.query as Record<string, unknown>;
  return {
    campaign_id: campaign._id,
    advertiser_id: campaign.advertiserId,
    publisher_id: firstString(query.pub),
    ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`sub${i + 1}`, firstString(query[`sub${i + 1}`])])),
  };
}
