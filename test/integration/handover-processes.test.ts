import { hostname } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import mongoose from 'mongoose';
import { freePort } from '../../src/local-stack/local-stack';
import { connectDatabase } from '../../src/persistence/database';
import { inbounds } from '../../src/persistence/models/inbound';
import { sessions } from '../../src/persistence/models/session';
import { startApiProcess, type ApiProcess } from '../support/api-process';
import { createFixture, type Fixture } from '../support/fixtures';
import { eventually, sharedStack, testAppEnv } from '../support/harness';
import { HttpSink } from '../support/http-sink';
import { scrape, seriesValue } from '../support/prometheus';
import { TcpProxy } from '../support/tcp-proxy';
import { click, conversionsOf, postback, settledDeliveries } from '../support/tracking-client';
import { readConversionState } from '../../src/handover/conversion-log';
import { readState } from '../../src/handover/session-ranges';
import { allStarted, startedCount } from '../support/handed-over';

// Issue #12 item 1: several API and worker processes at once, nothing done twice. Real processes
// (src/main.ts) against the shared stack: two ROLE=api, two ROLE=worker. The API processes make
// no Temporal call on the tracking paths, the workers' hand-overs share the walk of each log
// through the claims in its state document, and a worker killed while it holds a claim loses nothing.

jest.setTimeout(300_000);

const CLICKS = 24;
const CONVERTED = 8;
const NOTIFICATIONS_PER_CONVERSION = 4;

const processes: ApiProcess[] = [];
let env: Record<string, string>;
let sink: HttpSink;
let f: Fixture;
let temporal: Client;

async function start(role: 'api' | 'worker', extra: Record<string, string> = {}): Promise<ApiProcess & { metricsUrl: string }> {
  const port = await freePort();
  const p = await startApiProcess({ ...env, ROLE: role, METRICS_PORT: String(port), ...extra });
  processes.push(p);
  return { ...p, metricsUrl: `http://127.0.0.1:${port}/metrics` };
}

const handedOver = async (w: { metricsUrl: string }, kind: string, outcome: string) => seriesValue(await scrape(w.metricsUrl), 'clicktrail_handover_items_total', { kind, outcome });

beforeAll(async () => {
  const shared = sharedStack();
  env = {
    ...testAppEnv(undefined, shared),
    // Small claims, so that the two workers' claims interleave on one queue.
    HANDOVER_BATCH: '3',
    HANDOVER_LEASE_MS: '3000',
    DUPLICATE_CLICK_WINDOW_MS: '0',
  };
  await connectDatabase(env.MONGODB_URI!);
  sink = await new HttpSink().start();
  f = await createFixture({ sinkUrl: sink.url });
  temporal = new Client({ connection: await Connection.connect({ address: shared.temporalAddress }) });
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await temporal?.connection.close();
  await sink?.stop();
  await mongoose.disconnect();
}, 60_000);

test('two API and two worker processes: every session started once, every conversion recorded and delivered once', async () => {
  const [a1, a2, w1, w2] = await Promise.all([start('api'), start('api'), start('worker'), start('worker')]);
  const apis = [a1!, a2!];
  const workers = [w1!, w2!];

  const clicked: string[] = [];
  for (let i = 0; i < CLICKS; i++) clicked.push((await click(apis[i % 2]!.url, f, `&sub1=multi-${i}`)).sessionId);
  await eventually(allStarted(clicked), 90_000, 'every session handed over');

  const converted = clicked.slice(0, CONVERTED);
  for (const [i, id] of converted.entries()) {
    const res = await postback(apis[(i + 1) % 2]!.url, { click_id: id, event: 'registration', txid: `tx-multi-${i}`, token: f.token });
    expect(res).toMatchObject({ status: 202, body: { outcome: 'accepted', session_id: id } });
  }
  for (const id of converted) await settledDeliveries(id, NOTIFICATIONS_PER_CONVERSION, 90_000);

  const started = await Promise.all(workers.map((w) => handedOver(w, 'session', 'started')));
  const signalled = await Promise.all(workers.map((w) => handedOver(w, 'conversion', 'signalled')));
  expect(started[0]! + started[1]!).toBe(CLICKS);
  expect(signalled[0]! + signalled[1]!).toBe(CONVERTED);
  // Both hand-overs took part (claims of 3 on one queue).
  expect(started[0]! + signalled[0]!).toBeGreaterThan(0);
  expect(started[1]! + signalled[1]!).toBeGreaterThan(0);

  for (const id of clicked) expect((await temporal.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
  for (const [i, id] of converted.entries()) {
    const recorded = await conversionsOf(id);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ txid: `tx-multi-${i}` });
    expect(sink.received(`/publisher/${f.publisherId}`).filter((r) => r.query.cid === id)).toHaveLength(1);
  }
  expect(await inbounds().countDocuments({ sessionId: { $in: converted }, outcome: 'accepted', 'decision.outcome': 'recorded' })).toBe(CONVERTED);
  // The hand-overs walked the log: nothing written to its records but the workflows' decisions.
  expect(await inbounds().countDocuments({ sessionId: { $in: converted }, $or: [{ signalled: { $exists: true } }, { handoverLease: { $exists: true } }] })).toBe(0);
  expect((await readConversionState()).claims).toEqual([]);

  await Promise.all(workers.map((w) => w.stop()));
});

test('a worker killed while it holds leases loses nothing: another takes its items over once the leases run out', async () => {
  const api = await start('api');
  // The doomed worker reaches Temporal through a relay that is then frozen: its hand-over calls
  // hang, so it is killed while it holds its claim.
  const relay = await new TcpProxy('127.0.0.1', Number(sharedStack().temporalAddress.split(':')[1])).start();
  try {
    const doomed = await start('worker', { TEMPORAL_ADDRESS: `127.0.0.1:${relay.port}` });
    relay.freeze();
    const clicked: string[] = [];
    for (let i = 0; i < 6; i++) clicked.push((await click(api.url, f, `&sub1=killed-${i}`)).sessionId);
    const owner = `${hostname()}:${doomed.pid}:`;
    const leased = await eventually(
      async () => {
        const held = (await readState()).claims.filter((c) => c.by.startsWith(owner));
        return held.length > 0 ? held : null;
      },
      30_000,
      "the doomed worker's claim",
    );
    await doomed.kill();
    const covered = clicked.filter((id) => leased.some((c) => id > c.from && id <= c.to));
    expect(covered.length).toBeGreaterThan(0);
    expect(await startedCount(covered)).toBe(0);

    const heir = await start('worker');
    await eventually(allStarted(clicked), 60_000, 'every session handed over by the other worker');
    expect(await handedOver(heir, 'session', 'started')).toBe(clicked.length);
    for (const id of clicked) expect((await temporal.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
    expect((await readState()).claims).toEqual([]);
  } finally {
    relay.thaw();
    await relay.stop();
  }
});

// After the test above: its second worker is the one that hands over here.
test('an API process that cannot reach Temporal at all still redirects clicks and accepts postbacks', async () => {
  const nowhere = await freePort();
  const api = await start('api', { TEMPORAL_ADDRESS: `127.0.0.1:${nowhere}` });
  const { sessionId } = await click(api.url, f, '&sub1=no-temporal');
  expect(await sessions().findOne({ _id: sessionId })).toMatchObject({ status: 'open' });
  const res = await postback(api.url, { click_id: sessionId, event: 'registration', txid: 'tx-no-temporal', token: f.token });
  expect(res).toMatchObject({ status: 202, body: { outcome: 'accepted', session_id: sessionId } });
  // Its readiness says what it cannot reach; the tracking paths did not need it.
  const ready = await fetch(`${api.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({ down: ['temporal'] });
  // The worker (which reaches Temporal) hands both over.
  await eventually(async () => (await conversionsOf(sessionId)).length === 1, 60_000, 'the conversion recorded through the worker');
  expect((await temporal.workflow.getHandle(sessionId).describe()).status.name).toBe('RUNNING');
});
