import dns from 'node:dns';
import net from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import type { OutboundPolicy } from './address-policy';
import { redactUrl } from './redact-url';

/** A delivery that must not be retried: the URL is refused by the outbound policy or unusable. */
export class UndeliverableUrl extends Error {
  override name = 'UndeliverableUrl';
}

export type LookupAll = (hostname: string, options: dns.LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void) => void;

const refused = (reason: string) => new UndeliverableUrl(`refused by outbound policy: ${reason}`);

/** Redirects followed, each hop checked again; more is an error. */
export const MAX_REDIRECTS = 3;

/**
 * GET requests that reach only what the policy allows. Names are resolved by our own lookup, which
 * refuses the connection when any address of the name is refused; literal addresses are checked
 * before connecting. Redirects are followed by hand, at most MAX_REDIRECTS, each hop checked again.
 */
export class OutboundClient {
  private readonly agent: Agent;

  constructor(
    private readonly policy: OutboundPolicy,
    resolve: LookupAll = dns.lookup,
  ) {
    const lookup: net.LookupFunction = (hostname, options, callback) => {
      resolve(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 0);
        for (const a of addresses) {
          const problem = policy.addressProblem(a.address, hostname);
          if (problem) return callback(refused(`${hostname}: ${problem}`), '', 0);
        }
        if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) return callback(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
    const connect = buildConnector({ lookup });
    this.agent = new Agent({
      connect: (opts, callback) => {
        // net.connect skips the lookup for a literal address: check it here.
        const problem = net.isIP(opts.hostname) ? policy.addressProblem(opts.hostname) : null;
        if (problem) return callback(refused(problem), null);
        connect(opts, callback);
      },
    });
  }

  /** The final status code; throws UndeliverableUrl for a refused or unusable URL. */
  async get(url: string, timeoutMs: number): Promise<number> {
    const signal = AbortSignal.timeout(timeoutMs);
    let current: URL;
    try {
      current = new URL(url);
    } catch {
      throw new UndeliverableUrl('unusable URL: not a valid absolute URL');
    }
    for (let hop = 0; ; hop++) {
      const problem = this.policy.urlProblem(current);
      if (problem) throw refused(hop === 0 ? problem : `redirect to ${redactUrl(current.href)}: ${problem}`);
      let res;
      try {
        res = await request(current, { dispatcher: this.agent, method: 'GET', signal });
      } catch (err) {
        throw causeOf(err, UndeliverableUrl) ?? err;
      }
      await res.body.dump();
      const location = res.headers.location;
      if (res.statusCode < 300 || res.statusCode >= 400 || typeof location !== 'string') return res.statusCode;
      if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
      try {
        current = new URL(location, current);
      } catch {
        throw new Error(`HTTP ${res.statusCode} redirect to an invalid URL`);
      }
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function causeOf<T extends Error>(err: unknown, type: new (...args: never[]) => T): T | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof type) return e;
  }
  return null;
}
