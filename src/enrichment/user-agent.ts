import { isbot } from 'isbot';
import { LRUCache } from 'lru-cache';
import UAParser from 'ua-parser-js';
import type { DeviceInfo } from '../domain/session';

// ua-parser-js 1.x (MIT; 2.x is AGPL) for the device, isbot (maintained pattern list) for bots.
// Parsing is the costliest step of a click and a few user agents make most traffic: cache results.

export interface VisitorAgent {
  device: DeviceInfo;
  bot: boolean;
}

const cache = new LRUCache<string, VisitorAgent>({ max: 20_000 });
const MAX_UA_LENGTH = 1024;

export function parseUserAgent(raw: string | undefined): VisitorAgent {
  const ua = (raw ?? '').slice(0, MAX_UA_LENGTH);
  const hit = cache.get(ua);
  if (hit) return hit;
  const r = new UAParser(ua).getResult();
  const bot = ua.trim() === '' || isbot(ua);
  const agent: VisitorAgent = {
    // ua-parser leaves desktop browsers without a device type.
    device: {
      type: bot ? 'bot' : (r.device.type ?? (r.os.name || r.browser.name ? 'desktop' : 'unknown')),
      os: r.os.name ?? null,
      browser: r.browser.name ?? null,
      vendor: r.device.vendor ?? null,
      model: r.device.model ?? null,
    },
    bot,
  };
  cache.set(ua, agent);
  return agent;
}
