import { conversions } from '../../src/persistence/models/conversion';
import { deliveries } from '../../src/persistence/models/delivery';
import { clickUrl, type Fixture } from './fixtures';
import { eventually, get } from './harness';

// What the resilience tests do over and over from the outside: click a tracked link, send a
// postback, and wait for a conversion's notifications to settle.

/** Clicks the fixture's tracked link; the session id is read back from the landing URL's {click_id}. */
export async function click(baseUrl: string, f: Fixture, extra = '', headers: Record<string, string> = {}): Promise<{ res: Response; sessionId: string }> {
  const res = await get(clickUrl(baseUrl, f, extra), headers);
  if (res.status !== 302) throw new Error(`click answered ${res.status}: ${await res.text()}`);
  const sessionId = new URL(res.headers.get('location') ?? '').searchParams.get('cid');
  if (!sessionId) throw new Error(`no click id in ${res.headers.get('location')}`);
  return { res, sessionId };
}

export async function postback(
  baseUrl: string,
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await get(`${baseUrl}/postback?${new URLSearchParams(params)}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * Waits until every notification planned for the session's conversions has a final attempt
 * (delivered or given up), so that "exactly once" can then be asserted on what the sink saw.
 */
export async function settledDeliveries(sessionId: string, expected: number, timeoutMs = 30_000) {
  return eventually(
    async () => {
      const done = await deliveries()
        .find({ sessionId, outcome: { $in: ['delivered', 'given_up'] } })
        .toArray();
      return new Set(done.map((d) => d.deliveryId)).size >= expected ? done : null;
    },
    timeoutMs,
    `${expected} settled deliveries for session ${sessionId}`,
  );
}

export function conversionsOf(sessionId: string) {
  return conversions().find({ sessionId }).toArray();
}
