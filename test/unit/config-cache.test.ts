import { Loader } from '../../src/persistence/config-cache';

// The loader's outage behaviour with a controlled clock and a fake lookup: which copies it may keep
// serving while the database fails, and that unknown ids do not crowd out known ones.

function setup(staleOnError: boolean) {
  let now = 1_000;
  const db = new Map<string, { _id: string; token: string }>([['a', { _id: 'a', token: 'old' }]]);
  let failing = false;
  let reads = 0;
  const find = async (id: string) => {
    reads++;
    if (failing) throw new Error('database unreachable');
    return db.get(id) ?? null;
  };
  const loader = new Loader<{ token: string }>(find, { ttlMs: 100, max: 2, maxMissing: 10, staleOnError, perf: { now: () => now } });
  return {
    loader,
    db,
    reads: () => reads,
    fail: (v: boolean) => (failing = v),
    advance: (ms: number) => (now += ms),
  };
}

/** Lets a background refresh settle: it is a promise chain, not a timer. */
const settle = () => new Promise((r) => setImmediate(r));

test('without staleOnError, a changed record stops being served once the database fails past the TTL', async () => {
  const t = setup(false);
  expect((await t.loader.get('a'))?.token).toBe('old');
  t.db.set('a', { _id: 'a', token: 'rotated' });
  t.fail(true);
  t.advance(200);
  // The first read past the TTL may still answer from memory while the refresh runs; the refresh fails and drops it.
  await t.loader.get('a').catch(() => null);
  await settle();
  await expect(t.loader.get('a')).rejects.toThrow('database unreachable');
});

test('with staleOnError, the last copy keeps answering through an outage', async () => {
  const t = setup(true);
  expect((await t.loader.get('a'))?.token).toBe('old');
  t.fail(true);
  t.advance(200);
  for (let i = 0; i < 3; i++) {
    expect((await t.loader.get('a'))?.token).toBe('old');
    await settle();
  }
});

test('unknown ids are remembered apart: a flood of them neither evicts a known entry nor reads the database again', async () => {
  const t = setup(true);
  await t.loader.get('a');
  for (let i = 0; i < 50; i++) expect(await t.loader.get(`nope-${i}`)).toBeNull();
  const reads = t.reads();
  expect(await t.loader.get('nope-49')).toBeNull();
  expect((await t.loader.get('a'))?.token).toBe('old');
  expect(t.reads()).toBe(reads);
});

test('an unknown id that is created later is found once its negative entry has expired', async () => {
  const t = setup(true);
  expect(await t.loader.get('b')).toBeNull();
  t.db.set('b', { _id: 'b', token: 'new' });
  expect(await t.loader.get('b')).toBeNull();
  t.advance(200);
  expect((await t.loader.get('b'))?.token).toBe('new');
});
