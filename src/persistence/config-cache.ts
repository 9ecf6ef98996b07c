import { LRUCache } from 'lru-cache';
import type { EventRule } from '../domain/attribution-rules';
import { Advertiser, type AdvertiserDoc } from './models/advertiser';
import { Asset, type AssetDoc } from './models/asset';
import { Campaign, type CampaignDoc } from './models/campaign';
import { Provider, type ProviderDoc } from './models/provider';
import { Publisher, type PublisherDoc } from './models/publisher';
import { Support, type SupportDoc } from './models/support';
import { withinBudget } from './operation-budget';

// Configuration read on every click, pixel and postback comes from memory. An entry is served
// for `ttlMs`, then refreshed in the background while the stale copy keeps answering, so a change
// is seen within seconds and the hot path never waits on the database for a known id. Unknown
// ids are cached too, in a small LRU of their own, so random ids from the internet neither hammer
// the database nor evict the real entries (audit M1).

type WithId<T> = T & { _id: string };
type Box<T> = { doc: WithId<T> };

export interface LoaderOptions {
  ttlMs: number;
  max: number;
  /** Unknown ids remembered (each for ttlMs). */
  maxMissing: number;
  /**
   * Keep answering with the last copy while the database is unreachable. Off for advertisers: a
   * rotated postback token must stop working within the TTL even during an outage (audit L2).
   */
  staleOnError: boolean;
  /** Clock for tests (lru-cache's `perf` option). */
  perf?: { now(): number };
}

export class Loader<T> {
  private readonly cache: LRUCache<string, Box<T>>;
  private readonly missing: LRUCache<string, true>;

  constructor(
    private readonly find: (id: string) => Promise<unknown>,
    o: LoaderOptions,
  ) {
    this.missing = new LRUCache<string, true>({ max: o.maxMissing, ttl: o.ttlMs, ...(o.perf ? { perf: o.perf, ttlResolution: 0 } : {}) });
    this.cache = new LRUCache<string, Box<T>>({
      max: o.max,
      ttl: o.ttlMs,
      allowStale: true,
      allowStaleOnFetchRejection: o.staleOnError,
      noDeleteOnFetchRejection: o.staleOnError,
      ...(o.perf ? { perf: o.perf, ttlResolution: 0 } : {}),
      fetchMethod: async (id) => {
        // Bounded: a cold lookup during an outage fails within MONGO_OP_TIMEOUT_MS, not mongoose's 10 s.
        const doc = (await withinBudget(this.find(id), 'configuration lookup')) as WithId<T> | null;
        if (doc) return { doc };
        this.missing.set(id, true);
        return undefined;
      },
    });
  }

  async get(id: string): Promise<WithId<T> | null> {
    if (this.missing.get(id)) return null;
    return (await this.cache.fetch(id))?.doc ?? null;
  }

  clear(): void {
    this.cache.clear();
    this.missing.clear();
  }
}

export class ConfigCache {
  readonly advertisers: Loader<AdvertiserDoc>;
  readonly campaigns: Loader<CampaignDoc>;
  readonly assets: Loader<AssetDoc>;
  readonly publishers: Loader<PublisherDoc>;
  readonly supports: Loader<SupportDoc>;
  readonly providers: Loader<ProviderDoc>;

  constructor(ttlMs: number, max = 50_000, maxMissing = 5_000) {
    const o = { ttlMs, max, maxMissing, staleOnError: true };
    this.advertisers = new Loader((id) => Advertiser.findById(id).exec().then((d) => d?.toObject() ?? null), { ...o, staleOnError: false });
    this.campaigns = new Loader((id) => Campaign.findById(id).exec().then((d) => d?.toObject() ?? null), o);
    this.assets = new Loader((id) => Asset.findById(id).exec().then((d) => d?.toObject() ?? null), o);
    this.publishers = new Loader((id) => Publisher.findById(id).exec().then((d) => d?.toObject() ?? null), o);
    this.supports = new Loader((id) => Support.findById(id).exec().then((d) => d?.toObject() ?? null), o);
    this.providers = new Loader((id) => Provider.findById(id).exec().then((d) => d?.toObject() ?? null), o);
  }

  /** The campaign's conversion events as rules (null: the campaign no longer exists). */
  async eventRules(campaignId: string): Promise<EventRule[] | null> {
    const campaign = await this.campaigns.get(campaignId);
    if (!campaign) return null;
    return campaign.events.map((e) => ({
      name: e.name,
      payout: { kind: e.payout?.kind ?? 'fixed', value: e.payout?.value ?? 0 },
      revenue: { kind: e.revenue?.kind ?? 'fixed', value: e.revenue?.value ?? 0 },
      currency: e.currency,
      repeatable: e.repeatable,
    }));
  }

  clear(): void {
    for (const l of [this.advertisers, this.campaigns, this.assets, this.publishers, this.supports, this.providers]) l.clear();
  }
}

export type Cached<T> = WithId<T>;
