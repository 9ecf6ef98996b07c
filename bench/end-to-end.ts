import http from 'node:http';
import { summarize, type LoadResult } from './load';
import { clickPath, type BenchFixture } from './seed';
import type { PostbackSink } from './sink';
import { visitor, visitorHeaders, type TrafficMix } from './traffic-mix';

// N sessions offered at a fixed rate (open loop: a session starts on schedule whether or not
// earlier ones have finished), each one a visitor's click followed by the advertiser's
// server-to-server postback. Delivery is observed at the sink, so latency runs from the click
// being sent to the publisher's postback arriving.

export interface EndToEndOptions {
  apiUrl: string;
  fixture: BenchFixture;
  /** The seeded campaign name this stage uses. */
  campaign: string;
  sessions: number;
  rate: number;
  sink: PostbackSink;
  /** Bots and duplicates among the clicks; each session still gets its postback. */
  mix: TrafficMix;
  /** Keeps this stage's visitors apart from other stages'. */
  stream: number;
}

export interface EndToEndTraffic {
  offeredRate: number;
  /** Seconds from the first click sent to the last one sent. */
  sendSec: number;
  redirects: number;
  postbacksAccepted: number;
  /** Postbacks answered `503` (the database did not answer in time) and sent again after its `Retry-After`, as a network does. */
  postbacksRetried: number;
  /** Click ids answered, in order, for matching deliveries. */
  clickIds: string[];
  clickSentAt: Map<string, number>;
  firstClickAt: number;
  clickLatencyMs: LoadResult['latencyMs'];
  postbackLatencyMs: LoadResult['latencyMs'];
  failures: string[];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

/** How often a postback answered `503` is sent again before the session counts as lost. */
const POSTBACK_RETRIES = 3;

function get(url: string, headers: Record<string, string>): Promise<{ status: number; location: string | undefined; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, retryAfter: res.headers['retry-after'], body }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', reject);
  });
}

export async function driveSessions(o: EndToEndOptions): Promise<EndToEndTraffic> {
  const t: EndToEndTraffic = {
    offeredRate: o.rate,
    sendSec: 0,
    redirects: 0,
    postbacksAccepted: 0,
    postbacksRetried: 0,
    clickIds: [],
    clickSentAt: new Map(),
    firstClickAt: 0,
    clickLatencyMs: summarize([]),
    postbackLatencyMs: summarize([]),
    failures: [],
  };
  const clickMs: number[] = [];
  const postbackMs: number[] = [];

  const session = async (i: number) => {
    const sent = performance.now();
    try {
      const headers = visitorHeaders(visitor(i, o.mix, o.stream));
      const click = await get(`${o.apiUrl}${clickPath(o.fixture, o.campaign, `e2e-${i}`)}`, headers);
      clickMs.push(performance.now() - sent);
      const clickId = click.location ? new URL(click.location).searchParams.get('cid') : null;
      if (click.status !== 302 || !clickId) {
        t.failures.push(`session ${i}: click answered ${click.status} ${click.body.slice(0, 200)}`);
        return;
      }
      t.redirects++;
      t.clickIds.push(clickId);
      t.clickSentAt.set(clickId, sent);
      const postbackUrl = `${o.apiUrl}/postback?click_id=${clickId}&event=registration&txid=e2e-${o.campaign}-${i}&token=${o.fixture.token}`;
      const pbSent = performance.now();
      let pb = await get(postbackUrl, {});
      postbackMs.push(performance.now() - pbSent);
      // A 503 means "not stored, send again" (README: Durability of a click); a network retries it.
      for (let retry = 1; pb.status === 503 && retry <= POSTBACK_RETRIES; retry++) {
        t.postbacksRetried++;
        const after = Number(pb.retryAfter ?? 'none');
        await new Promise((r) => setTimeout(r, 1000 * (Number.isNaN(after) ? 5 : after)));
        pb = await get(postbackUrl, {});
      }
      if (pb.status !== 202) {
        t.failures.push(`session ${i}: postback answered ${pb.status} ${pb.body.slice(0, 200)}`);
        return;
      }
      t.postbacksAccepted++;
    } catch (err) {
      t.failures.push(`session ${i}: ${String(err)}`);
    }
  };

  const start = performance.now();
  t.firstClickAt = start;
  const running: Promise<void>[] = [];
  for (let i = 0; i < o.sessions; i++) {
    const due = start + (i * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    running.push(session(i));
  }
  t.sendSec = Math.round((performance.now() - start) / 10) / 100;
  await Promise.all(running);
  t.clickLatencyMs = summarize(clickMs);
  t.postbackLatencyMs = summarize(postbackMs);
  return t;
}

/** Click sent → publisher postback received, over the sessions whose postback arrived. */
export function deliveryLatency(t: EndToEndTraffic, sink: PostbackSink) {
  const ms: number[] = [];
  let first = Infinity;
  let last = -Infinity;
  for (const id of t.clickIds) {
    const arrived = sink.firstArrival.get(id);
    if (arrived === undefined) continue;
    ms.push(arrived - t.clickSentAt.get(id)!);
    first = Math.min(first, arrived);
    last = Math.max(last, arrived);
  }
  // The rate deliveries came out at, first to last: the offered rate when the pipeline keeps up,
  // less when a backlog builds. (The fixed click→delivery latency is not counted against it.)
  const spanSec = (last - first) / 1000;
  return {
    delivered: ms.length,
    latencyMs: summarize(ms),
    sustainedPerSec: ms.length > 1 && spanSec > 0 ? Math.round(((ms.length - 1) / spanSec) * 10) / 10 : 0,
  };
}
