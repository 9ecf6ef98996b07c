import { freePort } from '../../src/local-stack/local-stack';
import { deliveries } from '../../src/persistence/models/delivery';
import { sessions } from '../../src/persistence/models/session';
import { createFixture, insertWaitingSessions, type Fixture } from '../support/fixtures';
import { eventually, get, startTestApp, type TestApp } from '../support/harness';
import { HttpSink } from '../support/http-sink';
import { capturingLogger } from '../support/log-capture';
import { scrape, seriesValue } from '../support/prometheus';
import { click, postback, settledDeliveries } from '../support/tracking-client';
import { nothingWaiting, startedCount } from '../support/handed-over';

// Issue #10 item 7: what operators see. /metrics moves with the traffic, every answer and log line
// of a request carries its id, the worker serves the SDK's own metrics, and a session is more than
// an id in the Temporal UI. One app for the file: it is the first to install the Temporal runtime
// here, so the SDK's metrics listener and log forwarding are this app's.

const BROWSER = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36' };
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
let workerMetricsUrl: string;
const capture = capturingLogger('debug');
const metrics = () => scrape(app.metricsUrl!);
const linesOf = (requestId: string) => capture.lines.filter((l) => l.requestId === requestId);

beforeAll(async () => {
  sink = await new HttpSink().start();
  const workerPort = await freePort();
  workerMetricsUrl = `http://127.0.0.1:${workerPort}/metrics`;
  // LOG_LEVEL info: the SDK's warnings (a failed activity) reach the log, its info lines do not.
  // No duplicate window: every click here counts as what it is, not as a repeat of the last one.
  app = await startTestApp({ LOG_LEVEL: 'info', DUPLICATE_CLICK_WINDOW_MS: '0', METRICS_PORT: '0', WORKER_METRICS_PORT: String(workerPort) }, { log: capture.log });
  f = await createFixture({ sinkUrl: sink.url });
});
afterAll(async () => {
  await app?.stop();
  await sink?.stop();
});

test('/metrics is served on its own port only, in the Prometheus format, with process metrics', async () => {
  expect(app.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  expect(new URL(app.metricsUrl!).port).not.toBe(new URL(app.httpUrl!).port);
  const res = await fetch(app.metricsUrl!);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  expect(text).toContain('# TYPE clicktrail_clicks_total counter');
  expect(text).toContain('# TYPE clicktrail_http_request_duration_seconds histogram');
  expect(seriesValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  // Not on the public port.
  expect((await get(app.url('/metrics'))).status).toBe(404);
});

test('clicks count by outcome and feed the latency histogram of /c', async () => {
  const before = await metrics();
  await click(app.httpUrl!, f, '', BROWSER);
  await click(app.httpUrl!, f, '', BROWSER);
  await click(app.httpUrl!, f);
  expect((await get(app.url('/c/no-such-campaign?pub=x'))).status).toBe(404);
  const after = await metrics();
  expect(seriesValue(after, 'clicktrail_clicks_total', { outcome: 'redirected' }) - seriesValue(before, 'clicktrail_clicks_total', { outcome: 'redirected' })).toBe(2);
  expect(seriesValue(after, 'clicktrail_clicks_total', { outcome: 'bot' }) - seriesValue(before, 'clicktrail_clicks_total', { outcome: 'bot' })).toBe(1);
  expect(seriesValue(after, 'clicktrail_clicks_total', { outcome: 'not_found' }) - seriesValue(before, 'clicktrail_clicks_total', { outcome: 'not_found' })).toBe(1);
  const count = (t: string) => seriesValue(t, 'clicktrail_http_request_duration_seconds_count', { endpoint: 'click', code: '302' });
  expect(count(after) - count(before)).toBe(3);
});

test('postbacks count by outcome and status code', async () => {
  const { sessionId } = await click(app.httpUrl!, f);
  const before = await metrics();
  expect((await postback(app.httpUrl!, { click_id: sessionId, event: 'registration', token: f.token })).status).toBe(202);
  expect((await postback(app.httpUrl!, { event: 'registration', token: f.token })).status).toBe(400);
  const after = await metrics();
  const delta = (labels: Record<string, string>) => seriesValue(after, 'clicktrail_conversions_total', labels) - seriesValue(before, 'clicktrail_conversions_total', labels);
  expect(delta({ source: 'postback', outcome: 'accepted', code: '202' })).toBe(1);
  expect(delta({ source: 'postback', outcome: 'rejected', code: '400' })).toBe(1);
});

test('sessions waiting for their workflow show in a gauge until the hand-over starts them, counted with their lag', async () => {
  // The earlier tests' clicks handed over first, so that the counts below are these three's.
  await eventually(nothingWaiting, 20_000, 'earlier clicks handed over');
  await app.stopWorker();
  const waiting = await insertWaitingSessions(f, 3);
  // The lag is counted from createdAt: a minute back, while the ids stay ahead of the hand-over's cursor.
  await sessions().updateMany({ _id: { $in: waiting } }, { $set: { createdAt: new Date(Date.now() - 60_000) } });
  await eventually(async () => seriesValue(await metrics(), 'clicktrail_sessions_awaiting_workflow') >= 3, 20_000, 'the gauge to count the waiting sessions');
  const before = await metrics();
  await app.startWorker();
  await eventually(() => startedCount(waiting).then((n) => n === 3), 20_000, 'the hand-over');
  await eventually(async () => seriesValue(await metrics(), 'clicktrail_sessions_awaiting_workflow') === 0, 20_000, 'the gauge to drop');
  const after = await metrics();
  const delta = (name: string, labels: Record<string, string> = {}) => seriesValue(after, name, labels) - seriesValue(before, name, labels);
  expect(delta('clicktrail_handover_items_total', { kind: 'session', outcome: 'started' })).toBe(3);
  // Stored a minute before they were handed over: the lag histogram has them past its 30 s bucket.
  expect(delta('clicktrail_handover_lag_seconds_count', { kind: 'session' })).toBe(3);
  expect(delta('clicktrail_handover_lag_seconds_bucket', { kind: 'session', le: '30' })).toBe(0);
  // The worker's own connection takes the first workflow task with the start.
  expect(delta('clicktrail_handover_eager_starts_total')).toBeGreaterThan(0);
});

test('a refused delivery counts its attempts by outcome, each failed attempt one warn line with the reason', async () => {
  sink.failFirst.set(`/publisher/${f.publisherId}`, 1_000);
  const before = await metrics();
  const { sessionId } = await click(app.httpUrl!, f);
  expect((await postback(app.httpUrl!, { click_id: sessionId, event: 'registration', token: f.token })).status).toBe(202);
  await settledDeliveries(sessionId, 4);
  const attempts = await deliveries().find({ sessionId, target: 'publisher' }).toArray();
  expect(attempts.map((a) => a.outcome).sort()).toEqual(['failed', 'failed', 'failed', 'failed', 'given_up']);

  const after = await metrics();
  const delta = (outcome: string) => seriesValue(after, 'clicktrail_delivery_attempts_total', { target: 'publisher', outcome }) - seriesValue(before, 'clicktrail_delivery_attempts_total', { target: 'publisher', outcome });
  expect(delta('failed')).toBe(4);
  expect(delta('given_up')).toBe(1);
  expect(delta('delivered')).toBe(0);
  expect(seriesValue(after, 'clicktrail_delivery_attempts_total', { target: 'provider', outcome: 'delivered' })).toBeGreaterThanOrEqual(3);

  // The SDK's line for each failed attempt, through pino: one JSON line, the reason, no stack.
  const deliveryId = attempts[0]!.deliveryId;
  // The first attempt is the session's own (its line is clicktrail's); the four after it are the
  // delivery workflow's activity, each logged by the SDK.
  const [first] = capture.lines.filter((l) => l.msg === 'delivery attempt failed, retries scheduled' && l.deliveryId === deliveryId);
  expect(first).toMatchObject({ level: 40, attempt: 1, target: 'publisher' });
  expect(first!.err).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/publisher\/\S+: HTTP 500$/);
  const failed = await eventually(() => {
    const lines = capture.lines.filter((l) => l.msg === 'Activity failed' && l.workflowId === deliveryId);
    return lines.length >= 4 ? lines : null;
  }, 20_000, 'the failed attempts in the log');
  for (const line of failed) {
    expect(line.level).toBe(40);
    expect(line.component).toBe('temporal-sdk');
    expect(line.err).toMatch(/^DeliveryFailed: http:\/\/127\.0\.0\.1:\d+\/publisher\/\S+: HTTP 500$/);
    expect(JSON.stringify(line)).not.toContain('\\n    at ');
  }
  sink.failFirst.clear();
});

test('each request has an id: in the X-Request-Id header, the error body and its log lines', async () => {
  const res = await get(app.url('/postback?event=registration'));
  expect(res.status).toBe(400);
  const id = res.headers.get('x-request-id')!;
  expect(id).toMatch(UUID_RE);
  expect(((await res.json()) as { request_id: string }).request_id).toBe(id);
  await eventually(() => linesOf(id).some((l) => l.msg === 'request' && l.status === 400), 5_000, 'the request line');

  // Outside the conversion endpoints an incoming sane id is honoured (a proxy's), an insane one replaced.
  const proxied = await get(app.url('/no/such/route'), { 'x-request-id': 'lb-7f3a9c21-0001' });
  expect(proxied.status).toBe(404);
  expect(proxied.headers.get('x-request-id')).toBe('lb-7f3a9c21-0001');
  expect(await proxied.json()).toMatchObject({ error: 'no route for GET /no/such/route', request_id: 'lb-7f3a9c21-0001' });
  const insane = await get(app.url('/no/such/route'), { 'x-request-id': 'a b' });
  expect(insane.headers.get('x-request-id')).toMatch(UUID_RE);

  // On /postback the id is the conversion request's key: always clicktrail's, the caller's only logged.
  const pb = await get(app.url('/postback?event=registration'), { 'x-request-id': 'lb-7f3a9c21-0002' });
  const own = pb.headers.get('x-request-id')!;
  expect(own).toMatch(UUID_RE);
  expect(((await pb.json()) as { request_id: string }).request_id).toBe(own);
  await eventually(() => linesOf(own).some((l) => l.upstreamRequestId === 'lb-7f3a9c21-0002'), 5_000, 'the upstream id in the log');

  // The pixel answers its id too (and keeps the older header with the same value).
  const px = await get(app.url(`/px.gif?click_id=nope&event=registration`));
  expect(px.status).toBe(200);
  expect(px.headers.get('x-request-id')).toMatch(UUID_RE);
  expect(px.headers.get('x-clicktrail-request-id')).toBe(px.headers.get('x-request-id'));
});

test('/readyz reports MongoDB and Temporal up; /healthz needs neither', async () => {
  // Awaited, not asserted on the first call: under the suite's load the shared dev server can miss the
  // check's deadline once (readiness.test.ts covers the down cases).
  const body = await eventually(async () => {
    const res = await get(app.url('/readyz'));
    return res.status === 200 ? ((await res.json()) as unknown) : null;
  }, 30_000, '/readyz 200');
  expect(body).toEqual({ status: 'ready', down: [], checks: { mongodb: 'up', temporal: 'up' } });
  expect(await (await get(app.url('/healthz'))).json()).toEqual({ status: 'ok' });
});

test("the worker serves the Temporal SDK's Prometheus metrics", async () => {
  const text = await eventually(() => scrape(workerMetricsUrl).then((t) => (t.includes('temporal_') ? t : null)), 20_000, 'temporal_ series');
  expect(text).toMatch(/^temporal_\w+/m);
});

test('in Temporal a session workflow carries its summary and details, a delivery its target and event', async () => {
  const { sessionId } = await click(app.httpUrl!, f, '&sub1=spring-sale&utm_source=[x](http://evil.example)', BROWSER);
  const described = await eventually(() => app.temporal.client.workflow.getHandle(sessionId).describe().catch(() => null), 20_000, 'the session workflow');
  expect(await described.staticSummary()).toBe(`campaign ${f.campaignId} · publisher ${f.publisherId} · unknown country · desktop`);
  const details = (await described.staticDetails())!;
  expect(details).toContain('sub1: spring\\-sale');
  expect(details).toContain('landing URL: https\\:');
  // A visitor's link parameter cannot become a link in an operator's browser.
  expect(details).toContain('utm\\_source: \\[x\\]\\(http\\:');

  // A delivery gets a workflow of its own when its first attempt fails.
  sink.failFirst.set(`/publisher/${f.publisherId}`, 1);
  expect((await postback(app.httpUrl!, { click_id: sessionId, event: 'registration', token: f.token })).status).toBe(202);
  const [delivery] = await settledDeliveries(sessionId, 4).then((ds) => ds.filter((d) => d.target === 'publisher'));
  expect(delivery).toMatchObject({ attempt: 2, outcome: 'delivered' });
  const child = await app.temporal.client.workflow.getHandle(delivery!.deliveryId).describe();
  expect(await child.staticSummary()).toBe(`publisher ${f.publisherId} · registration`);
  expect(await child.staticDetails()).not.toContain('?');
});
