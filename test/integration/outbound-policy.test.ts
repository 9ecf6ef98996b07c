import type { LookupAddress } from 'node:dns';
import { Provider } from '../../src/persistence/models/provider';
import { Publisher } from '../../src/persistence/models/publisher';
import type { LookupAll } from '../../src/outbound/outbound-client';
import { clientFor } from '../support/api-client';
import { createFixture } from '../support/fixtures';
import { HttpSink } from '../support/http-sink';
import { startTestApp, type TestApp } from '../support/harness';
import { convert, expectRefused, finishedPublisherDelivery } from '../support/outbound';

// Audit H3: outbound postbacks reach only the public internet, checked on the configured URL (400)
// and on the address actually connected to, after DNS and after every redirect. Nothing here may
// leave loopback: names resolve through a stand-in resolver, and every non-loopback address it
// returns must be refused before any connection. No network is allowed; two names are.

const STAND_IN_DNS: Record<string, string> = {
  'sink.partner.example': '127.0.0.1',
  'pb.rebind.example': '10.0.0.7',
  'v6.rebind.example': 'fd00::7',
  'meta.partner.example': '169.254.169.254',
};
const standInLookup: LookupAll = (hostname, _options, callback) => {
  const address = STAND_IN_DNS[hostname];
  if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
  callback(null, [{ address, family: address.includes(':') ? 6 : 4 } satisfies LookupAddress]);
};

let sink: HttpSink;
let app: TestApp;
let port: string;

beforeAll(async () => {
  sink = await new HttpSink().start();
  port = new URL(sink.url).port;
  app = await startTestApp(
    { OUTBOUND_ALLOW_NETWORKS: '', OUTBOUND_ALLOW_HOSTS: 'sink.partner.example,meta.partner.example' },
    { outboundLookup: standInLookup },
  );
});
afterAll(async () => {
  await app?.stop();
  await sink?.stop();
});

describe('configuration refuses postback URLs into private networks', () => {
  const refused = [
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/?c={click_id}',
    'http://127.0.0.1:8233/api/v1/namespaces',
    'http://[::1]/',
    'http://mongodb:27017/',
    'http://temporal-ui:8080/',
    'http://[::ffff:127.0.0.1]/',
    'http://100.64.0.1/',
    'http://10.0.0.1/',
    'http://[fd00:ec2::254]/',
    'http://localhost:8080/',
  ].map((url) => [url, /must reach the public internet: /] as const);
  // An address written as one integer (WHATWG URL reads 127.0.0.1) is outside the documented grammar.
  const notHosts = ['http://2130706433/', 'http://2130706433:8080/healthz'].map((url) => [url, /"2130706433(:8080)?" is not a host/] as const);

  test.each([...refused, ...notHosts])('a publisher key setting %s gets 400 and the saved URL is kept', async (url, reason) => {
    const fx = await createFixture({ sinkUrl: 'https://pb.partner.example' });
    const pub = await clientFor(app, 'publisher', fx.publisherId);
    const before = (await Publisher.findById(fx.publisherId).lean())!.postbackUrl;
    for (const body of [{ postbackUrl: url }, { postbackUrls: [{ event: 'sale', url }] }]) {
      const res = await pub.patch(`/publishers/${fx.publisherId}`, body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(reason);
    }
    expect((await Publisher.findById(fx.publisherId).lean())!.postbackUrl).toBe(before);
  });

  test('an operator setting a provider notification URL into the private network gets 400', async () => {
    const op = await clientFor(app, 'operator');
    const created = await op.post('/providers', { name: 'p', kind: 'campaign', notificationUrl: 'http://169.254.169.254/latest/?k=SECRET' });
    expect(created.status).toBe(400);
    expect(created.body.fields[0]).toMatchObject({ path: 'notificationUrl' });
    expect(created.body.fields[0].message).toMatch(/169\.254\.169\.254 is a cloud metadata address/);
    expect(await Provider.countDocuments({ notificationUrl: /169\.254/ })).toBe(0);
    const ok = await op.post('/providers', { name: 'p', kind: 'campaign', notificationUrl: 'https://net.example/pb?c={click_id}' });
    expect(ok.status).toBe(201);
  });
});

describe('deliveries are checked on the address connected to', () => {
  test('a URL saved before the policy, to loopback, is refused at delivery: one attempt, not retried, the sink untouched', async () => {
    const fx = await createFixture({ sinkUrl: sink.url });
    const attempt = await expectRefused(app, fx, '127.0.0.1 is a loopback address');
    expect(attempt.url).toContain(`/publisher/${fx.publisherId}?cid=`);
    expect(sink.received(`/publisher/${fx.publisherId}`)).toHaveLength(0);
  });

  test('a public-looking name that resolves to a private address (DNS rebinding) is refused at connect time', async () => {
    for (const [host, reason] of [
      ['pb.rebind.example', 'pb.rebind.example: 10.0.0.7 is a private address'],
      ['v6.rebind.example', 'v6.rebind.example: fd00::7 is a unique local address'],
      ['meta.partner.example', 'meta.partner.example: 169.254.169.254 is a cloud metadata address'],
    ]) {
      const fx = await createFixture({ sinkUrl: sink.url });
      const pub = await clientFor(app, 'publisher', fx.publisherId);
      // The configuration check cannot know what the name will resolve to: it accepts it.
      const saved = await pub.patch(`/publishers/${fx.publisherId}`, { postbackUrl: `http://${host}:${port}/publisher/${fx.publisherId}?cid={click_id}` });
      expect(saved.status).toBe(200);
      await expectRefused(app, fx, reason!);
    }
  });

  test('a name resolving to an allowed network is delivered, redirects on it followed', async () => {
    const fx = await createFixture({ sinkUrl: sink.url });
    sink.redirects.set(`/hop/${fx.publisherId}`, `/publisher/${fx.publisherId}?final=1`);
    await Publisher.updateOne({ _id: fx.publisherId }, { postbackUrl: `http://sink.partner.example:${port}/hop/${fx.publisherId}?cid={click_id}` });
    const sessionId = await convert(app, fx);
    const { result, attempts } = await finishedPublisherDelivery(app, sessionId);
    expect(result).toBe('delivered');
    expect(attempts.map((a) => [a.attempt, a.outcome, a.statusCode])).toEqual([[1, 'delivered', 200]]);
    expect(sink.received(`/hop/${fx.publisherId}`)).toHaveLength(1);
    expect(sink.received(`/publisher/${fx.publisherId}`).map((r) => r.query)).toEqual([{ final: '1' }]);
  });

  test('a redirect from an allowed sink to a metadata address is refused', async () => {
    const fx = await createFixture({ sinkUrl: sink.url });
    sink.redirects.set(`/meta/${fx.publisherId}`, 'http://169.254.169.254/latest/meta-data/iam/security-credentials/');
    await Publisher.updateOne({ _id: fx.publisherId }, { postbackUrl: `http://sink.partner.example:${port}/meta/${fx.publisherId}?cid={click_id}` });
    await expectRefused(app, fx, 'redirect to http://169.254.169.254/latest/meta-data/iam/security-credentials/: 169.254.169.254 is a cloud metadata address');
    expect(sink.received(`/meta/${fx.publisherId}`)).toHaveLength(1);
  });

  test('a redirect to another scheme is refused', async () => {
    const fx = await createFixture({ sinkUrl: sink.url });
    sink.redirects.set(`/ftp/${fx.publisherId}`, 'ftp://files.example/x');
    await Publisher.updateOne({ _id: fx.publisherId }, { postbackUrl: `http://sink.partner.example:${port}/ftp/${fx.publisherId}?cid={click_id}` });
    await expectRefused(app, fx, 'redirect to ftp://files.example/x: ftp: is not http or https');
  });
});
