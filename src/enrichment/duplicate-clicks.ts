import { LRUCache } from 'lru-cache';

/**
 * Flags a click as a duplicate when the same IP clicked the same campaign for the same publisher
 * within the window. Per process: behind a load balancer with several API processes a duplicate
 * that lands on another process is not flagged (documented in the README).
 */
export class DuplicateClicks {
  private readonly seen: LRUCache<string, true>;

  constructor(windowMs: number, max = 200_000) {
    this.seen = new LRUCache<string, true>({ max, ttl: Math.max(windowMs, 1) });
  }

  check(ip: string, campaignId: string, publisherId: string): boolean {
    const key = `${ip}|${campaignId}|${publisherId}`;
    if (this.seen.has(key)) return true;
    this.seen.set(key, true);
    return false;
  }
}
