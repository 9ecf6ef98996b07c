import { FirstAttemptGate, endpointOf } from '../../src/outbound/first-attempt-gate';

const A = 'https://pub-a.example/postback?cid=1&txid=9';
const A2 = 'https://pub-a.example/postback?cid=2';
const B = 'https://pub-b.example/pb?cid=1';

function gate(now = { t: 0 }) {
  return { now, gate: new FirstAttemptGate({ perEndpoint: 2, total: 3, slowMs: 1_000, now: () => now.t }) };
}

const fine = { ok: true, latencyMs: 50, coolDownMs: 30_000 };

test('an endpoint is its URL without the query', () => {
  expect(endpointOf(A)).toBe('https://pub-a.example/postback');
  expect(endpointOf(A2)).toBe(endpointOf(A));
  expect(endpointOf('not a url?x=1')).toBe('not a url');
});

test('at most perEndpoint attempts in flight to one endpoint and total in all; a release frees its place once', () => {
  const { gate: g } = gate();
  const r1 = g.tryAcquire(A)!;
  const r2 = g.tryAcquire(A2)!;
  expect(r1).not.toBeNull();
  expect(r2).not.toBeNull();
  expect(g.tryAcquire(A)).toBeNull(); // pub-a has 2 in flight
  const r3 = g.tryAcquire(B)!;
  expect(r3).not.toBeNull();
  expect(g.tryAcquire('https://pub-c.example/x')).toBeNull(); // 3 in all
  r1(fine);
  r1(fine); // a second release of the same attempt frees nothing more
  expect(g.tryAcquire('https://pub-c.example/x')).not.toBeNull();
  expect(g.tryAcquire(A)).toBeNull();
});

test('a failed or slow attempt leaves the endpoint to delivery workflows for its cool-down, other endpoints untouched', () => {
  const { gate: g, now } = gate();
  g.tryAcquire(A)!({ ok: false, latencyMs: 10, coolDownMs: 30_000 });
  expect(g.tryAcquire(A2)).toBeNull();
  const b = g.tryAcquire(B)!;
  expect(b).not.toBeNull();
  b({ ok: true, latencyMs: 1_500, coolDownMs: 5_000 }); // delivered, but slower than slowMs
  expect(g.tryAcquire(B)).toBeNull();
  now.t = 5_000;
  expect(g.tryAcquire(B)).not.toBeNull();
  expect(g.tryAcquire(A)).toBeNull();
  now.t = 30_000;
  expect(g.tryAcquire(A)).not.toBeNull();
});

test('a fast success keeps the endpoint open', () => {
  const { gate: g } = gate();
  g.tryAcquire(A)!(fine);
  g.tryAcquire(A)!(fine);
  expect(g.tryAcquire(A)).not.toBeNull();
});

test('a limit of 0 (FIRST_ATTEMPT_TOTAL=0 or FIRST_ATTEMPT_PER_ENDPOINT=0) leaves every postback to its delivery workflow', () => {
  expect(new FirstAttemptGate({ perEndpoint: 8, total: 0, slowMs: 1_000 }).tryAcquire(A)).toBeNull();
  expect(new FirstAttemptGate({ perEndpoint: 0, total: 32, slowMs: 1_000 }).tryAcquire(A)).toBeNull();
});
