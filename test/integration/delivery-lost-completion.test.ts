import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { deliveryActivities, type DeliverInput } from '../../activities/deliveries';
import { OutboundPolicy } from '../../src/outbound/address-policy';
import { OutboundClient } from '../../src/outbound/outbound-client';
import { Delivery } from '../../src/persistence/models/delivery';
import { startTestApp, testId, type TestApp } from '../support/harness';
import { HttpSink } from '../support/http-sink';

// A worker killed after its attempt was delivered and logged, but before Temporal heard the
// activity complete (the chaos run's worker-kill scenario saw it once): Temporal runs the attempt
// again, and that retry must not send the postback a second time.

let app: TestApp;
let sink: HttpSink;
let outbound: OutboundClient;
let deliver: ReturnType<typeof deliveryActivities>['deliver'];

beforeAll(async () => {
  sink = await new HttpSink().start();
  app = await startTestApp();
  outbound = new OutboundClient(new OutboundPolicy({ hosts: [], networks: ['127.0.0.0/8'] }));
  deliver = deliveryActivities(pino({ level: 'silent' }), outbound).deliver;
});
afterAll(async () => {
  await outbound?.close();
  await app?.stop();
  await sink?.stop();
});

function input(deliveryId: string): DeliverInput {
  return {
    deliveryId,
    conversionId: testId('conv'),
    sessionId: testId('sess'),
    target: 'publisher',
    targetId: 'pub-1',
    url: `${sink.url}/publisher/${deliveryId}`,
    timeoutMs: 5_000,
    maximumAttempts: 5,
  } as DeliverInput;
}

test('a retry whose earlier attempt was delivered and logged does not send again', async () => {
  const d = input(testId('dlv'));
  await new MockActivityEnvironment({ attempt: 1 }).run(deliver, d);
  expect(sink.received(`/publisher/${d.deliveryId}`)).toHaveLength(1);
  // The completion of attempt 1 was lost: Temporal schedules attempt 2.
  await new MockActivityEnvironment({ attempt: 2 }).run(deliver, d);
  expect(sink.received(`/publisher/${d.deliveryId}`)).toHaveLength(1);
  expect(await Delivery.countDocuments({ deliveryId: d.deliveryId })).toBe(1);
});

test('a retry after a failed attempt sends again', async () => {
  const d = input(testId('dlv'));
  sink.statuses.set(`/publisher/${d.deliveryId}`, [500]);
  await expect(new MockActivityEnvironment({ attempt: 1 }).run(deliver, d)).rejects.toMatchObject({ type: 'DeliveryFailed' });
  await new MockActivityEnvironment({ attempt: 2 }).run(deliver, d);
  expect(sink.received(`/publisher/${d.deliveryId}`)).toHaveLength(2);
  expect((await Delivery.find({ deliveryId: d.deliveryId }).sort({ attempt: 1 }).lean()).map((a) => a.outcome)).toEqual(['failed', 'delivered']);
});
