import { WorkflowNotFoundError } from '@temporalio/client';
import { sessions } from '../../src/persistence/models/session';
import { createFixture, type Fixture } from '../support/fixtures';
import { eventually, get, startTestApp, type TestApp } from '../support/harness';
import { HttpSink } from '../support/http-sink';
import { scrape, seriesValue } from '../support/prometheus';
import { click, conversionsOf, postback, settledDeliveries } from '../support/tracking-client';
import { startedSession } from '../support/handed-over';

// Issue #12 item 3: under SESSION_WORKFLOW_POLICY=skip-bots-and-duplicates a bot or duplicate
// click is stored, counted and redirected as any other, but costs no workflow until a conversion
// for it arrives; then the hand-over's signalWithStart starts it and the conversion counts.

const BROWSER = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36' };
const BOT = { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' };

let app: TestApp;
let sink: HttpSink;
let f: Fixture;
beforeAll(async () => {
  sink = await new HttpSink().start();
  app = await startTestApp({ SESSION_WORKFLOW_POLICY: 'skip-bots-and-duplicates', METRICS_PORT: '0' });
  f = await createFixture({ sinkUrl: sink.url });
});
afterAll(async () => {
  await app?.stop();
  await sink?.stop();
});

const workflowOf = (id: string) => app.temporal.client.workflow.getHandle(id).describe();

test('bot and duplicate clicks are stored and counted without a workflow, until a conversion starts one', async () => {
  const before = await scrape(app.metricsUrl!);
  const first = await click(app.httpUrl!, f, '&sub1=first', BROWSER);
  const duplicate = await click(app.httpUrl!, f, '&sub1=again', BROWSER);
  const bot = await click(app.httpUrl!, f, '&sub1=bot', BOT);
  // A later ordinary click (another publisher: no duplicate): once it is handed over, the older
  // lazy ones were passed over by the hand-over, not missed.
  const later = await get(`${app.httpUrl}/c/${f.campaignId}?pub=${f.otherPublisherId}`, BROWSER);
  expect(later.status).toBe(302);
  const laterId = new URL(later.headers.get('location')!).searchParams.get('cid')!;

  await eventually(() => startedSession(laterId), 20_000, 'the later ordinary click handed over');
  expect(await startedSession(first.sessionId)).not.toBeNull();
  const after = await scrape(app.metricsUrl!);
  const delta = (outcome: string) => seriesValue(after, 'clicktrail_clicks_total', { outcome }) - seriesValue(before, 'clicktrail_clicks_total', { outcome });
  expect([delta('redirected'), delta('duplicate'), delta('bot')]).toEqual([2, 1, 1]);
  for (const { sessionId } of [duplicate, bot]) {
    const stored = await sessions().findOne({ _id: sessionId });
    expect(stored).toMatchObject({ lazy: true, status: 'open' });
    expect(stored).not.toHaveProperty('workflowStarted');
    await expect(workflowOf(sessionId)).rejects.toBeInstanceOf(WorkflowNotFoundError);
  }
  expect((await sessions().findOne({ _id: bot.sessionId }))?.bot).toBe(true);
  expect((await sessions().findOne({ _id: duplicate.sessionId }))?.duplicate).toBe(true);
  // Nothing waits for the hand-over: lazy sessions are not in its queue.
  await eventually(async () => seriesValue(await scrape(app.metricsUrl!), 'clicktrail_sessions_awaiting_workflow') === 0, 20_000, 'an empty queue');

  // A conversion for the bot's click: accepted, and its workflow starts with it.
  const res = await postback(app.httpUrl!, { click_id: bot.sessionId, event: 'registration', txid: 'tx-lazy', token: f.token });
  expect(res).toMatchObject({ status: 202, body: { outcome: 'accepted', session_id: bot.sessionId } });
  await settledDeliveries(bot.sessionId, 4);
  const recorded = await conversionsOf(bot.sessionId);
  expect(recorded).toHaveLength(1);
  expect(recorded[0]).toMatchObject({ txid: 'tx-lazy', bot: true });
  expect((await workflowOf(bot.sessionId)).status.name).toBe('RUNNING');
  expect(await sessions().findOne({ _id: bot.sessionId })).toMatchObject({ workflowStarted: true });
  expect(sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === bot.sessionId)).toHaveLength(1);
  // The duplicate, without a conversion, still has none.
  await expect(workflowOf(duplicate.sessionId)).rejects.toBeInstanceOf(WorkflowNotFoundError);
});
