import { BROWSER_UA } from './load';

// The visitors behind the bench's clicks. Each has an IP of its own, sent as X-Forwarded-For
// (clicktrail trusts loopback as its proxy in the bench), so duplicate detection (same IP,
// campaign and publisher within a minute) sees real visitors instead of one IP clicking
// thousands of times. A set share of clicks carries a bot's user agent, another share repeats the
// previous visitor's IP: the clicks a lazy workflow policy would not start a workflow for.

export const BOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

export interface TrafficMix {
  bots: number;
  duplicates: number;
}

export interface Visitor {
  ip: string;
  userAgent: string;
  bot: boolean;
  /** Repeats the IP of visitor i - 1. */
  duplicate: boolean;
}

/** Visitor i of a stream. Shares are spread evenly (every 1/share-th visitor), not drawn at random. */
export function visitor(i: number, mix: TrafficMix, stream = 0): Visitor {
  const bot = hits(i, mix.bots, 0);
  const duplicate = !bot && i > 0 && hits(i, mix.duplicates, 0.5);
  return { ip: ipOf(duplicate ? i - 1 : i, stream), userAgent: bot ? BOT_UA : BROWSER_UA, bot, duplicate };
}

export function visitorHeaders(v: Visitor): Record<string, string> {
  return { 'user-agent': v.userAgent, 'x-forwarded-for': v.ip };
}

function hits(i: number, share: number, phase: number): boolean {
  return share > 0 && Math.floor((i + 1) * share + phase) > Math.floor(i * share + phase);
}

// Documentation range 198.18.0.0/15 (benchmarking, RFC 2544): addresses nobody uses. Nothing is
// sent to them; they are header values. A stream number keeps phases' visitors apart.
function ipOf(i: number, stream: number): string {
  const n = (stream * 1_000_003 + i) % 131_072;
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}
