import { createFixture, type Fixture } from '../support/fixtures';
import { eventually, get, sharedStack, startTestApp, testId, type TestApp } from '../support/harness';
import { HttpSink } from '../support/http-sink';
import { capturingLogger } from '../support/log-capture';
import { TcpProxy } from '../support/tcp-proxy';
import { click } from '../support/tracking-client';

// Audit L2: the advertiser's postback token never reaches a log line, in particular not when the
// request is refused because MongoDB is unreachable (the intake logs the refused request's parameters).
// The app reaches the shared FerretDB through a relay this file cuts.

let app: TestApp;
let sink: HttpSink;
let proxy: TcpProxy;
let f: Fixture;
const capture = capturingLogger('trace');

beforeAll(async () => {
  const mongo = new URL(sharedStack().mongoPrefix);
  proxy = await new TcpProxy(mongo.hostname, Number(mongo.port)).start();
  sink = await new HttpSink().start();
  app = await startTestApp({}, { log: capture.log, mongoUri: `mongodb://127.0.0.1:${proxy.port}/${testId('ct').replace('-', '_')}` });
  f = await createFixture({ sinkUrl: sink.url });
});
afterAll(async () => {
  await proxy?.start();
  await app?.stop();
  await sink?.stop();
  await proxy?.stop();
});

test('with MongoDB unreachable, failing postbacks and pixels log no line containing the token', async () => {
  const { sessionId } = await click(app.httpUrl!, f);
  const secrets = [testId('SECRET'), testId('SECRET'), testId('SECRET'), testId('SECRET')];
  await proxy.stop();

  const answers = await Promise.all([
    get(app.url(`/postback?click_id=${sessionId}&event=registration&token=${secrets[0]}`)),
    get(app.url(`/postback?click_id=${sessionId}&event=registration&security_token=${secrets[1]}&order_id=1`)),
    get(app.url(`/postback?click_id=${sessionId}&event=registration&%74oken=${secrets[2]}`)),
    get(app.url(`/px.gif?click_id=${sessionId}&event=registration&verification_token=${secrets[3]}`)),
  ]);
  const [p1, p2, p3, pixel] = answers;
  for (const res of [p1!, p2!, p3!]) expect(res.status).toBe(503);
  expect(pixel!.status).toBe(200);

  // Every refusal was logged with its parameters (so the check below has something to look at)…
  const refused = await eventually(() => {
    const lines = capture.lines.filter((l) => l.msg === 'conversion refused: database unavailable');
    return lines.length >= 4 && lines;
  }, 20_000, 'the refusal log lines');
  expect(refused.map((l) => (l.params as Record<string, string>).click_id)).toEqual([sessionId, sessionId, sessionId, sessionId]);
  expect(refused.filter((l) => l.source === 'pixel')).toHaveLength(1);
  // …but never the token, under any of its names.
  const logged = capture.lines.map((l) => JSON.stringify(l));
  for (const secret of secrets) expect(logged.filter((l) => l.includes(secret))).toEqual([]);
});
