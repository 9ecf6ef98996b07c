import { readFileSync } from 'node:fs';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { CONVERSION_PARAM_ALIASES, STATUS_ALIASES } from '../../src/domain/conversion-params';
import { UNAUTHENTICATED } from '../../src/http/conversion-intake';
import { Campaign } from '../../src/persistence/models/campaign';
import { Conversion, type ConversionRecord } from '../../src/persistence/models/conversion';
import { Inbound } from '../../src/persistence/models/inbound';
import { Provider } from '../../src/persistence/models/provider';
import { Publisher } from '../../src/persistence/models/publisher';
import { sessionRecord, sessions } from '../../src/persistence/models/session';
import { clientFor } from '../support/api-client';
import { createFixture, type Fixture } from '../support/fixtures';
import { eventually, startTestApp, testId, type TestApp } from '../support/harness';
import { click } from '../support/tracking-client';

// docs/tracking.md is the contract networks paste from. This file reads it and sends what it
// documents through the running stack: every alias of its parameter table, every status synonym,
// every answer status of the postback and of the status lookup, every final outcome, and every
// platform example. A row added to the page without a behaviour behind it fails here, and so does
// a behaviour that changed under the page.

const PAGE = readFileSync(path.join(__dirname, '..', '..', 'docs', 'tracking.md'), 'utf8');

/** The body rows of the markdown table right after `<!-- table: name -->`, as trimmed cells. */
function table(name: string): string[][] {
  const at = PAGE.indexOf(`<!-- table: ${name} -->`);
  if (at < 0) throw new Error(`docs/tracking.md has no table "${name}"`);
  const rows: string[][] = [];
  for (const line of PAGE.slice(at).split('\n').slice(1)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split('|').map((c) => c.trim()));
  }
  return rows.slice(2);
}

/** The `code` spans of a cell. */
const names = (cell: string | undefined) => [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
const codesOf = (name: string) => table(name).map((r) => Number(names(r[0])[0]));

/** The text of the fenced block right after `<!-- example: name -->` (or after a heading text). */
function blockAfter(marker: string): string {
  const at = PAGE.indexOf(marker);
  if (at < 0) throw new Error(`docs/tracking.md has no "${marker}"`);
  const m = /```\w*\n([\s\S]*?)```/.exec(PAGE.slice(at));
  if (!m) throw new Error(`no code block after "${marker}"`);
  return m[1]!.trim();
}

const EVENTS = [
  { name: 'sale', payout: { kind: 'percent' as const, value: 1000 }, revenue: { kind: 'percent' as const, value: 2000 }, currency: 'EUR', repeatable: true },
  { name: 'lead', payout: { kind: 'fixed' as const, value: 300 }, revenue: { kind: 'fixed' as const, value: 500 }, currency: 'EUR', repeatable: true },
];

let app: TestApp;
let f: Fixture;
let sid: string;

/** A fixture whose conversions notify nobody: this file checks what comes in, not what goes out. */
async function quietFixture(): Promise<Fixture> {
  const fx = await createFixture({ sinkUrl: 'http://127.0.0.1:9', events: EVENTS });
  await Publisher.updateMany({ _id: { $in: [fx.publisherId, fx.otherPublisherId] } }, { $set: { postbackUrl: null } });
  await Provider.updateMany({ _id: { $in: [fx.campaignProviderId, fx.publisherProviderId, fx.businessProviderId] } }, { $set: { notificationUrl: null } });
  return fx;
}

beforeAll(async () => {
  app = await startTestApp();
  f = await quietFixture();
  ({ sessionId: sid } = await click(app.httpUrl!, f));
});
afterAll(async () => {
  jest.restoreAllMocks();
  await app?.stop();
});

type Answer = { status: number; body: Record<string, unknown>; headers: Headers };

async function send(params: Record<string, string>, init: RequestInit & { path?: string } = {}): Promise<Answer> {
  const res = await fetch(app.url(`${init.path ?? '/postback'}?${new URLSearchParams(params)}`), init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

const lookup = (requestId: string, token: string) => send({ request_id: requestId, token }, { path: '/postback/status' });

/** Waits for the session's decision on a request, through the documented lookup. */
async function decided(requestId: unknown, token = f.token): Promise<Record<string, unknown>> {
  expect(requestId).toEqual(expect.any(String));
  const res = await eventually(async () => {
    const r = await lookup(requestId as string, token);
    return r.status === 200 && r.body.outcome !== 'pending' && r;
  }, 20_000, `the decision on ${requestId}`);
  return res.body;
}

/** Sends a conversion that must be recorded; returns the stored conversion. */
async function recorded(params: Record<string, string>): Promise<ConversionRecord> {
  const res = await send(params);
  expect([res.status, res.body]).toEqual([202, expect.objectContaining({ outcome: 'accepted', status: 'accepted', session_id: sid, request_id: expect.any(String) })]);
  const outcome = await decided(res.body.request_id);
  expect(outcome).toMatchObject({ outcome: 'recorded', conversion_id: expect.any(String) });
  const conv = await Conversion.findById(outcome.conversion_id).lean();
  expect(conv?.sessionId).toBe(sid);
  return conv!;
}

const tx = () => testId('tx');

describe('conversion parameters: every alias on the page works', () => {
  const rows = table('conversion-parameters');
  const documented = rows.map((r) => [names(r[0])[0]!, [names(r[0])[0]!, ...names(r[1])]] as const);

  test('the page lists exactly the parameters and aliases the code reads, in its order', () => {
    expect(documented).toEqual(Object.values(CONVERSION_PARAM_ALIASES).map((a) => [a.field, [...a.aliases]]));
  });

  // Per documented parameter: the request that uses one of its aliases, and what must be stored.
  const cases: Record<string, { params: (alias: string) => Record<string, string>; check: (c: ConversionRecord) => void }> = {
    click_id: { params: (a) => ({ [a]: sid, event: 'lead', txid: tx(), token: f.token }), check: () => undefined },
    event: { params: (a) => ({ click_id: sid, [a]: 'lead', txid: tx(), token: f.token }), check: (c) => expect(c.event).toBe('lead') },
    txid: { params: (a) => ({ click_id: sid, event: 'lead', [a]: `doc-${a}-${sid}`, token: f.token }), check: (c) => expect(c.txid).toMatch(/^doc-/) },
    amount: {
      params: (a) => ({ click_id: sid, event: 'sale', [a]: '12.34', txid: tx(), token: f.token }),
      check: (c) => expect(c).toMatchObject({ amountMinor: 1234, payoutMinor: 123, revenueMinor: 247 }),
    },
    revenue: {
      params: (a) => ({ click_id: sid, event: 'sale', amount: '10', [a]: '1.11', txid: tx(), token: f.token }),
      check: (c) => expect(c).toMatchObject({ amountMinor: 1000, revenueMinor: 111, payoutMinor: 100 }),
    },
    currency: {
      params: (a) => ({ click_id: sid, event: 'lead', revenue: '2.5', [a]: 'eur', txid: tx(), token: f.token }),
      check: (c) => expect(c).toMatchObject({ revenueMinor: 250, currency: 'EUR' }),
    },
    status: { params: (a) => ({ click_id: sid, event: 'lead', [a]: 'pending', txid: tx(), token: f.token }), check: (c) => expect(c.status).toBe('pending') },
    token: { params: (a) => ({ click_id: sid, event: 'lead', txid: tx(), [a]: f.token }), check: () => undefined },
    campaign: { params: (a) => ({ click_id: sid, event: 'lead', txid: tx(), token: f.token, [a]: f.campaignId }), check: (c) => expect(c.campaignId).toBe(f.campaignId) },
    adv: { params: (a) => ({ click_id: sid, event: 'lead', txid: tx(), token: f.token, [a]: f.advertiserId }), check: (c) => expect(c.advertiserId).toBe(f.advertiserId) },
  };
  const perAlias = documented.flatMap(([field, aliases]) => aliases.map((alias) => [`${field} as ${alias}`, field, alias] as const));

  test.each(perAlias)('%s', async (_name, field, alias) => {
    const c = cases[field];
    if (!c) throw new Error(`the page documents parameter ${field}, and this test has no case for it`);
    c.check(await recorded(c.params(alias)));
  });

  test('transaction_id is the click id when it is a UUID and no click id alias is given', async () => {
    const conv = await recorded({ transaction_id: sid, event: 'lead', order_id: tx(), token: f.token });
    expect(conv.txid).toMatch(/^tx-/);
  });

  test.each(table('status-values').flatMap((r) => names(r[0]).map((v) => [v, names(r[1])[0]!] as const)))('status %s is %s', async (value, status) => {
    expect(STATUS_ALIASES[value]).toBe(status);
    expect((await recorded({ click_id: sid, event: 'lead', txid: tx(), status: value.toUpperCase(), token: f.token })).status).toBe(status);
  });

  test('the page lists every status synonym the code knows', () => {
    const listed = table('status-values').flatMap((r) => names(r[0]));
    expect(listed.sort()).toEqual(Object.keys(STATUS_ALIASES).sort());
  });
});

describe('money words and events', () => {
  test('the error body on the page is the answer to payout without a sale amount for a percent-paid event', async () => {
    const documented = JSON.parse(blockAfter('The **error body**')) as Record<string, unknown>;
    const res = await send({ click_id: sid, event: 'sale', payout: '3', token: f.token });
    expect(res.status).toBe(400);
    expect({ ...res.body, request_id: 'x' }).toEqual({ ...documented, request_id: 'x' });
  });

  test('no event and no default event: 400 naming event; a default event set through the API is used', async () => {
    const fx = await quietFixture();
    const { sessionId } = await click(app.httpUrl!, fx);
    const none = await send({ click_id: sessionId, txid: tx(), token: fx.token });
    expect(none).toMatchObject({ status: 400, body: { fields: [{ path: 'event', message: expect.stringMatching(/^is required: this campaign has no default event \(known: sale, lead\)/) }] } });

    const operator = await clientFor(app, 'operator');
    const wrong = await operator.patch(`/campaigns/${fx.campaignId}`, { defaultEvent: 'signup' });
    expect(wrong).toMatchObject({ status: 422, body: { fields: [{ path: 'defaultEvent', message: expect.stringMatching(/not one of this campaign's events/) }] } });
    expect((await operator.patch(`/campaigns/${fx.campaignId}`, { defaultEvent: 'lead' })).body.defaultEvent).toBe('lead');
    const withDefault = await eventually(async () => {
      const r = await send({ click_id: sessionId, txid: tx(), token: fx.token });
      return r.status === 202 && r;
    }, 10_000, 'the default event to be seen');
    const outcome = await decided(withDefault.body.request_id, fx.token);
    expect((await Conversion.findById(outcome.conversion_id).lean())?.event).toBe('lead');
    // Removing the event the default names is refused while it is the default.
    const drop = await operator.patch(`/campaigns/${fx.campaignId}`, { events: [EVENTS[0]] });
    expect(drop).toMatchObject({ status: 422, body: { fields: [{ path: 'defaultEvent' }] } });
  });
});

describe('postback answers: every status on the page', () => {
  const errorBody = { error: expect.any(String), fields: expect.any(Array), request_id: expect.any(String) };
  const expired = async () => {
    const now = Date.now();
    const sessionId = uuidv7({ msecs: now - 120_000 });
    await sessions().insertOne(sessionRecord({
      sessionId, advertiserId: f.advertiserId, campaignId: f.campaignId, assetId: null, publisherId: f.publisherId, supportId: null,
      ip: '203.0.113.9', country: null, device: { type: 'desktop', os: null, browser: null, vendor: null, model: null }, userAgent: null,
      publisherData: {}, referrer: null, providers: { campaign: null, publisher: null, business: null }, bot: false, duplicate: false,
      createdAtMs: now - 120_000, expiresAtMs: now - 60_000,
    }, true));
    return sessionId;
  };
  const scenarios: Record<number, () => Promise<void>> = {
    200: async () => {
      const txid = tx();
      const first = await recorded({ click_id: sid, event: 'lead', txid, token: f.token });
      const again = await send({ click_id: sid, event: 'lead', txid, token: f.token });
      expect(again).toMatchObject({ status: 200, body: { outcome: 'duplicate', status: 'duplicate', conversion_id: first._id, session_id: sid, request_id: expect.any(String), reason: `transaction ${txid} already counted on conversion ${first._id}` } });
      expect(await decided(again.body.request_id)).toMatchObject({ outcome: 'duplicate', conversion_id: first._id, answer: { http_status: 200, outcome: 'duplicate' } });
    },
    202: async () => {
      await recorded({ click_id: sid, event: 'lead', txid: tx(), token: f.token });
    },
    400: async () => {
      const res = await send({ click_id: sid, event: 'sale', txid: tx(), token: f.token });
      expect(res).toMatchObject({ status: 400, body: { ...errorBody, fields: [{ path: 'amount', message: expect.stringMatching(/^is required/) }] } });
    },
    401: async () => {
      expect(await send({ click_id: sid, event: 'lead', token: 'wrong' })).toMatchObject({ status: 401, body: { ...errorBody, error: UNAUTHENTICATED, fields: [] } });
      // Before authentication an unknown click id is the same 401: nothing about clicks is told.
      expect(await send({ click_id: uuidv7(), event: 'lead', token: f.token })).toMatchObject({ status: 401, body: { ...errorBody, error: UNAUTHENTICATED } });
    },
    404: async () => {
      expect(await send({ click_id: uuidv7(), adv: f.advertiserId, event: 'lead', token: f.token })).toMatchObject({ status: 404, body: errorBody });
      expect(await send({ click_id: sid, campaign: 'another', event: 'lead', token: f.token })).toMatchObject({ status: 404, body: errorBody });
    },
    405: async () => {
      const res = await send({}, { method: 'PUT' });
      expect(res).toMatchObject({ status: 405, body: errorBody });
      expect(res.headers.get('allow')).toBe('GET, POST');
    },
    410: async () => {
      expect(await send({ click_id: await expired(), event: 'lead', token: f.token })).toMatchObject({ status: 410, body: errorBody });
    },
    413: async () => {
      const res = await send({}, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `txid=${'x'.repeat(17_000)}` });
      expect(res).toMatchObject({ status: 413, body: errorBody });
    },
    415: async () => {
      const res = await send({}, { method: 'POST', headers: { 'content-type': 'application/json; charset=bogus' }, body: '{}' });
      expect(res).toMatchObject({ status: 415, body: errorBody });
    },
    503: async () => {
      // Neither Temporal nor the database taking it cannot be produced on demand here: both are injected.
      const signal = jest.spyOn(app.temporal, 'signalConversion').mockRejectedValue(new Error('deadline exceeded'));
      const write = jest.spyOn(Inbound.collection, 'insertOne').mockRejectedValue(new Error('not primary'));
      try {
        const res = await send({ click_id: sid, event: 'lead', txid: tx(), token: f.token });
        expect(res).toMatchObject({ status: 503, body: errorBody });
      } finally {
        signal.mockRestore();
        write.mockRestore();
      }
    },
  };

  test('the page documents exactly the statuses exercised here', () => {
    expect(codesOf('postback-answers').sort()).toEqual(Object.keys(scenarios).map(Number).sort());
  });
  test.each(codesOf('postback-answers'))('%d', async (code) => {
    const scenario = scenarios[code];
    if (!scenario) throw new Error(`the page documents ${code} and this test cannot produce it`);
    await scenario();
  });
});

describe('GET /postback/status: every answer and every outcome on the page', () => {
  test('answers', async () => {
    expect(codesOf('status-lookup-answers')).toEqual([200, 400, 401, 404]);
    const res = await send({ click_id: sid, event: 'lead', txid: tx(), token: f.token });
    await decided(res.body.request_id);
    expect(await lookup('not-an-id', f.token)).toMatchObject({ status: 400, body: { fields: [{ path: 'request_id' }] } });
    expect(await send({ request_id: res.body.request_id as string }, { path: '/postback/status' })).toMatchObject({ status: 401, body: { fields: [{ path: 'token' }] } });
    const other = await quietFixture();
    // Another advertiser's token and an unknown id look the same.
    const foreign = await lookup(res.body.request_id as string, other.token);
    const unknown = await lookup(uuidv7(), other.token);
    expect([foreign.status, unknown.status]).toEqual([404, 404]);
    expect(foreign.body.error).toBe(`no request ${res.body.request_id} for this token`);
  });

  test('outcomes: pending, ignored, recorded, updated, duplicate, rejected', async () => {
    expect(table('final-outcomes').map((r) => names(r[0])[0])).toEqual(['pending', 'recorded', 'updated', 'duplicate', 'ignored', 'rejected']);
    const fx = await quietFixture();
    const { sessionId } = await click(app.httpUrl!, fx);
    await eventually(() => app.temporal.querySession(sessionId), 20_000, 'the session workflow');

    // Accepted while no worker runs: pending. The event then leaves the campaign: ignored.
    await app.stopWorker();
    let gone: Answer;
    try {
      gone = await send({ click_id: sessionId, event: 'lead', txid: tx(), token: fx.token });
      expect(gone.status).toBe(202);
      // The inbound record is written beside the signal: wait for it, then it is pending.
      const pending = await eventually(async () => {
        const r = await lookup(gone.body.request_id as string, fx.token);
        return r.status === 200 && r;
      }, 10_000, 'the pending request');
      expect(pending.body).toMatchObject({ outcome: 'pending', answer: { http_status: 202, outcome: 'accepted' }, conversion_id: null });
      await Campaign.updateOne({ _id: fx.campaignId }, { $set: { events: [EVENTS[0]] } });
      app.cache.clear();
    } finally {
      await app.startWorker();
    }
    expect(await decided(gone.body.request_id, fx.token)).toMatchObject({ outcome: 'ignored', reason: 'unknown event "lead" for this campaign', conversion_id: null });
    await Campaign.updateOne({ _id: fx.campaignId }, { $set: { events: EVENTS } });
    app.cache.clear();

    const txid = tx();
    const first = await eventually(async () => {
      const r = await send({ click_id: sessionId, event: 'lead', txid, status: 'pending', token: fx.token });
      return r.status === 202 && r;
    }, 10_000, 'the event back on the campaign');
    const made = await decided(first.body.request_id, fx.token);
    expect(made).toMatchObject({ outcome: 'recorded', session_id: sessionId, received_at: expect.any(String), decided_at: expect.any(String) });
    const update = await send({ click_id: sessionId, event: 'lead', txid, status: 'approved', token: fx.token });
    expect(await decided(update.body.request_id, fx.token)).toMatchObject({ outcome: 'updated', conversion_id: made.conversion_id });
    const dup = await send({ click_id: sessionId, event: 'lead', txid, status: 'approved', token: fx.token });
    expect(await decided(dup.body.request_id, fx.token)).toMatchObject({ outcome: 'duplicate', conversion_id: made.conversion_id });
    // Refused before authentication: its click is nobody's yet, so no advertiser can look it up.
    const refused = await send({ click_id: sessionId, event: 'lead', token: 'wrong' });
    expect(refused.status).toBe(401);
    expect((await lookup(refused.body.request_id as string, fx.token)).status).toBe(404);
  });
});

describe('platform examples on the page', () => {
  const platforms = [...PAGE.matchAll(/<!-- example: ([a-z0-9]+) -->/g)].map((m) => m[1]!);
  const values: Record<string, () => string> = {
    click_id: () => sid, order_id: tx, sale_amount: () => '25.00', payout: () => '3.00', currency: () => 'EUR', status: () => 'approved',
  };

  test('one per platform the integrators asked for', () => {
    expect(platforms).toEqual(expect.arrayContaining(['everflow', 'tune', 'affise', 'voluum', 'keitaro']));
  });

  test.each(platforms)('%s', async (platform) => {
    const template = blockAfter(`<!-- example: ${platform} -->`);
    expect(template.startsWith('https://track.example.com/postback?')).toBe(true);
    const url = new URL(template.replace('https://track.example.com', app.httpUrl!).replace(/\{([a-z_]+)\}/g, (_m, name: string) => {
      const value = values[name];
      if (!value) throw new Error(`the ${platform} example uses {${name}}, which this test does not fill`);
      return value();
    }).replace('SECRET', f.token));
    const params = Object.fromEntries(url.searchParams);
    const conv = await recorded(params);
    expect(conv.event).toBe(template.match(/[?&](?:event_id|goal_id|goal|et|event)=([a-z]+)/)?.[1]);
    if (template.includes('{sale_amount}')) expect(conv).toMatchObject({ amountMinor: 2500, payoutMinor: 250 });
    if (template.includes('{payout}')) expect(conv).toMatchObject({ revenueMinor: 300, payoutMinor: 300 });
  });
});

test('/t.js is served as cacheable JavaScript, revalidated with its ETag', async () => {
  const res = await fetch(app.url('/t.js'));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
  expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
  const body = await res.text();
  expect(body).toContain('function clicktrail(command, options)');
  const again = await fetch(app.url('/t.js'), { headers: { 'if-none-match': res.headers.get('etag')! } });
  expect(again.status).toBe(304);
});
