import { Publisher } from '../../src/persistence/models/publisher';
import { clientFor } from '../support/api-client';
import { createFixture } from '../support/fixtures';
import { HttpSink } from '../support/http-sink';
import { startTestApp, type TestApp } from '../support/harness';
import { convert, expectRefused, finishedPublisherDelivery } from '../support/outbound';

// An operator who allows every network still cannot reach cloud metadata addresses (audit H3).

let sink: HttpSink;
let app: TestApp;
beforeAll(async () => {
  sink = await new HttpSink().start();
  app = await startTestApp({ OUTBOUND_ALLOW_NETWORKS: '0.0.0.0/0,::/0' });
});
afterAll(async () => {
  await app?.stop();
  await sink?.stop();
});

test('configuration accepts private networks but never metadata addresses', async () => {
  const fx = await createFixture({ sinkUrl: 'https://pb.partner.example' });
  const pub = await clientFor(app, 'publisher', fx.publisherId);
  expect((await pub.patch(`/publishers/${fx.publisherId}`, { postbackUrl: 'http://127.0.0.1:8233/x' })).status).toBe(200);
  expect((await pub.patch(`/publishers/${fx.publisherId}`, { postbackUrl: 'http://10.1.2.3/x' })).status).toBe(200);
  for (const url of ['http://169.254.169.254/latest/', 'http://[fd00:ec2::254]/', 'http://100.100.100.200/', 'http://[::ffff:169.254.169.254]/']) {
    const res = await pub.patch(`/publishers/${fx.publisherId}`, { postbackUrl: url });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/cloud metadata address/);
  }
  expect((await Publisher.findById(fx.publisherId).lean())!.postbackUrl).toBe('http://10.1.2.3/x');
});

test('a loopback sink is delivered to', async () => {
  const fx = await createFixture({ sinkUrl: sink.url });
  const sessionId = await convert(app, fx);
  const { result, attempts } = await finishedPublisherDelivery(app, sessionId);
  expect(result).toBe('delivered');
  expect(attempts.map((a) => a.outcome)).toEqual(['delivered']);
  expect(sink.received(`/publisher/${fx.publisherId}`)).toHaveLength(1);
});

test('a redirect from the loopback sink to a metadata address is refused, not retried', async () => {
  const fx = await createFixture({ sinkUrl: sink.url });
  sink.redirects.set(`/publisher/${fx.publisherId}`, 'http://169.254.169.254/latest/meta-data/');
  await expectRefused(app, fx, 'redirect to http://169.254.169.254/latest/meta-data/: 169.254.169.254 is a cloud metadata address');
  expect(sink.received(`/publisher/${fx.publisherId}`)).toHaveLength(1);
});
