import { Delivery } from '../../src/persistence/models/delivery';
import { clickUrl, type Fixture } from './fixtures';
import { eventually, get, type TestApp } from './harness';

// Conversions whose publisher postback the outbound policy decides on, and what became of it.

export async function convert(on: TestApp, fx: Fixture): Promise<string> {
  const res = await get(clickUrl(on.httpUrl!, fx));
  expect(res.status).toBe(302);
  const sessionId = new URL(res.headers.get('location')!).searchParams.get('cid')!;
  const pb = await fetch(`${on.httpUrl}/postback?${new URLSearchParams({ click_id: sessionId, event: 'registration', token: fx.token })}`);
  expect(pb.status).toBe(202);
  return sessionId;
}

/**
 * The publisher delivery of a conversion, once settled: made at once by the session (no workflow of
 * its own) or, when its first attempt failed and may be retried, by its delivery workflow.
 */
export async function finishedPublisherDelivery(on: TestApp, sessionId: string) {
  const [first] = await eventually(async () => {
    const d = await Delivery.find({ sessionId, target: 'publisher' }).lean();
    return d.length > 0 && d;
  }, 30_000, 'a publisher delivery attempt');
  const deliveryId = first!.deliveryId;
  const workflow = await on.temporal.deliveryState(deliveryId);
  if (workflow !== 'none') await on.temporal.client.workflow.getHandle(deliveryId).result();
  const attempts = await eventually(async () => {
    const d = await Delivery.find({ deliveryId }).sort({ attempt: 1 }).lean();
    return d.some((a) => a.outcome !== 'failed') && d;
  }, 30_000, 'the publisher delivery to settle');
  return { result: attempts.at(-1)!.outcome, attempts, workflow };
}

export async function expectRefused(on: TestApp, fx: Fixture, reason: string) {
  const sessionId = await convert(on, fx);
  const { result, attempts, workflow } = await finishedPublisherDelivery(on, sessionId);
  expect(result).toBe('given_up');
  expect(attempts.map((a) => [a.attempt, a.outcome, a.statusCode])).toEqual([[1, 'given_up', null]]);
  expect(attempts[0]!.error).toMatch(/^refused by outbound policy: /);
  expect(attempts[0]!.error).toContain(reason);
  // Not retried: given up by the session's own first attempt, with no delivery workflow started.
  expect(workflow).toBe('none');
  return attempts[0]!;
}
