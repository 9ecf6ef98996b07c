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

/** The publisher delivery of a conversion, once its workflow has finished. */
export async function finishedPublisherDelivery(on: TestApp, sessionId: string) {
  const [first] = await eventually(async () => {
    const d = await Delivery.find({ sessionId, target: 'publisher' }).lean();
    return d.length > 0 && d;
  }, 30_000, 'a publisher delivery attempt');
  const child = on.temporal.client.workflow.getHandle(first!.deliveryId);
  const result = await child.result();
  const attempts = await Delivery.find({ deliveryId: first!.deliveryId }).sort({ attempt: 1 }).lean();
  return { result, attempts, history: await child.fetchHistory() };
}

export async function expectRefused(on: TestApp, fx: Fixture, reason: string) {
  const sessionId = await convert(on, fx);
  const { result, attempts, history } = await finishedPublisherDelivery(on, sessionId);
  expect(result).toBe('given_up');
  expect(attempts.map((a) => [a.attempt, a.outcome, a.statusCode])).toEqual([[1, 'given_up', null]]);
  expect(attempts[0]!.error).toMatch(/^refused by outbound policy: /);
  expect(attempts[0]!.error).toContain(reason);
  // Not retried, and the message kept in Temporal history has no query string (audit I1).
  const failed = history.events!.filter((e) => e.activityTaskFailedEventAttributes);
  expect(failed).toHaveLength(1);
  const failure = failed[0]!.activityTaskFailedEventAttributes!.failure!;
  expect(failure.applicationFailureInfo).toMatchObject({ type: 'UndeliverableUrl', nonRetryable: true });
  expect(failure.message).toContain(reason);
  expect(failure.message).not.toContain('?');
  expect(failure.message).not.toContain(sessionId);
  return attempts[0]!;
}
