import { LRUCache } from 'lru-cache';
import { Advertiser, type AdvertiserDoc } from './models/advertiser';
import { Asset, type AssetDoc } from './models/asset';
import { Campaign, type CampaignDoc } from './models/campaign';
import { Provider, type ProviderDoc } from './models/provider';
import { Publisher, type PublisherDoc } from './models/publisher';
import { Support, type SupportDoc } from './models/support';

// Configuration read on every click, pixel and postback comes from memory. An entry is served
// for `ttlMs`, then refreshed in the background while the stale copy keeps answering, so a change
// is seen within seconds and the hot path never waits on the database for a known id. Unknown
// ids are cached too (as null), so random ids from the internet cannot hammer the database.

type WithId<T> = T & { _id: string };
type Box<T> = { doc: WithId<T> | null };

class Loader<T> {
  private readonly cache: LRUCache<string, Box<T>>;

  constructor(find: (id: string) => Promise<unknown>, ttlMs: number, max: number) {
    this.cache = new LRUCache<string, Box<T>>({
      max,
      ttl: ttlMs,
      allowStale: true,
      allowStaleOnFetchRejection: true,
      noDeleteOnFetchRejection: true,
      fetchMethod: async (id) => ({ doc: ((await find(id)) ?? null) as WithId<T> | null }),
    });
  }

  async get(id: string): Promise<WithId<T> | null> {
    return (await this.cache.fetch(id))?.doc ?? null;
  }

  clear(): void {
    this.cache.clear();
  }
}

export class ConfigCache {
  readonly advertisers: Loader<AdvertiserDoc>;
  readonly campaigns: Loader<CampaignDoc>;
  readonly assets: Loader<AssetDoc>;
  readonly publishers: Loader<PublisherDoc>;
  readonly supports: Loader<SupportDoc>;
  readonly providers: Loader<ProviderDoc>;

  constructor(ttlMs: number, max = 50_000) {
    this.advertisers = new Loader((id) => Advertiser.findById(id).exec().then((d) => d?.toObject() ?? null), ttlMs, max);
    this.campaigns = new Loader((id) => Campaign.findById(id).exec().then((d) => d?.toObject() ?? null), ttlMs, max);
    this.assets = new Loader((id) => Asset.findById(id).exec().then((d) => d?.toObject() ?? null), ttlMs, max);
    this.publishers = new Loader((id) => Publisher.findById(id).exec().then((d) => d?.toObject() ?? null), ttlMs, max);
    this.supports = new Loader((id) => Support.findById(id).exec().then((d) => d?.toObject() ?? null), ttlMs, max);
    this.providers = new Loader((id) => Provider.findById(id).exec().then((d) => d?.toObject() ?? null), ttlMs, max);
  }

  clear(): void {
    for (const l of [this.advertisers, this.campaigns, this.assets, this.publishers, this.supports, this.providers]) l.clear();
  }
}

export type Cached<T> = WithId<T>;
