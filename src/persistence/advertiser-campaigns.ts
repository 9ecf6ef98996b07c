import { Campaign } from './models/campaign';

// Sessions carry advertiserId but have no index on it: each index costs every click's insert
// (one fewer gave the click 17-21%, bench/results/experiments/r24-index-drop.md). A campaign's
// advertiser is set when it is created and never changes (immutable in models/campaign.ts), and
// campaigns are archived, never deleted, so an advertiser's sessions are exactly its campaigns'
// sessions: read on {campaignId, _id}, with the advertiserId condition kept beside it.

/** The ids of every campaign of `advertiserIds`, archived ones included. */
export async function campaignsOf(advertiserIds: readonly string[]): Promise<string[]> {
  if (advertiserIds.length === 0) return [];
  const found = await Campaign.find({ advertiserId: { $in: [...advertiserIds] } }, { _id: 1 }).lean();
  return found.map((c) => String(c._id));
}

/**
 * For each condition on advertiserId among `conditions` (a value or `{$in: [...]}`), the condition on
 * campaignId that an index serves: add them to a query on sessions with the conditions themselves.
 */
export async function advertiserCampaignBounds(conditions: readonly Record<string, unknown>[]): Promise<{ campaignId: { $in: string[] } }[]> {
  const wanted = conditions.flatMap((c) => {
    const a = c.advertiserId;
    if (typeof a === 'string') return [[a]];
    if (a && typeof a === 'object' && Array.isArray((a as { $in?: unknown }).$in)) return [(a as { $in: string[] }).$in];
    return [];
  });
  // An advertiser key asking for ?advertiser=<itself> names the same advertiser twice: look it up once.
  const lookups = new Map<string, Promise<string[]>>();
  const campaignsOnce = (ids: string[]) => {
    const key = JSON.stringify([...ids].sort());
    let found = lookups.get(key);
    if (!found) lookups.set(key, (found = campaignsOf(ids)));
    return found;
  };
  return Promise.all(wanted.map(async (ids) => ({ campaignId: { $in: await campaignsOnce(ids) } })));
}
