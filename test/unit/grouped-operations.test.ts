import { GroupsFull, grouped, setGroupsInFlight } from '../../src/persistence/grouped-operations';

// The grouping rule alone: what goes to the database together, and who hears which outcome.

function recorder(answer: (items: number[]) => (string | Error)[] = (items) => items.map((i) => `ok ${i}`)) {
  const groups: number[][] = [];
  const release: (() => void)[] = [];
  const run = (items: number[]) => {
    groups.push(items);
    return new Promise<(string | Error)[]>((resolve, reject) => {
      release.push(() => {
        try {
          resolve(answer(items));
        } catch (err) {
          reject(err);
        }
      });
    });
  };
  return { groups, release: () => release.shift()!(), run };
}

const settle = () => new Promise((r) => setImmediate(r));

beforeEach(() => setGroupsInFlight(1));
afterAll(() => setGroupsInFlight(4));

test('the first request goes at once; those arriving meanwhile go together in the next group', async () => {
  const r = recorder();
  const call = grouped('test', r.run);
  const first = call(1);
  const rest = [2, 3, 4].map((i) => call(i));
  expect(r.groups).toEqual([[1]]);
  r.release();
  await expect(first).resolves.toBe('ok 1');
  await settle();
  expect(r.groups).toEqual([[1], [2, 3, 4]]);
  r.release();
  await expect(Promise.all(rest)).resolves.toEqual(['ok 2', 'ok 3', 'ok 4']);
  // Idle again: the next request does not wait for anything.
  const later = call(5);
  expect(r.groups).toEqual([[1], [2, 3, 4], [5]]);
  r.release();
  await expect(later).resolves.toBe('ok 5');
});

test("an item's own error fails only its caller", async () => {
  const r = recorder((items) => items.map((i) => (i === 3 ? new Error('refused 3') : `ok ${i}`)));
  const call = grouped('test', r.run);
  const first = call(1);
  const rest = [2, 3, 4].map((i) => call(i).catch((err: Error) => err.message));
  r.release();
  await first;
  await settle();
  r.release();
  await expect(Promise.all(rest)).resolves.toEqual(['ok 2', 'refused 3', 'ok 4']);
});

test("a group's failure is each of its callers', and the next group still goes", async () => {
  let fail = true;
  const r = recorder((items) => {
    if (fail) throw new Error('database gone');
    return items.map((i) => `ok ${i}`);
  });
  const call = grouped('test', r.run);
  const a = call(1).catch((err: Error) => err.message);
  const b = call(2).catch((err: Error) => err.message);
  r.release();
  await expect(a).resolves.toBe('database gone');
  await settle();
  fail = false;
  r.release();
  await expect(b).resolves.toBe('ok 2');
});

test('groups hold at most 500; past 10,000 waiting a caller fails at once', async () => {
  const r = recorder();
  const call = grouped('test', r.run);
  const all = Array.from({ length: 10_001 }, (_, i) => call(i));
  // One in flight and 10,000 waiting: the next is refused without waiting.
  const refused = await call(99_999).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(GroupsFull);
  expect((refused as Error).message).toBe('test: 10000 already waiting for the database');
  for (let released = 0; released < 21; released++) {
    r.release();
    await settle();
  }
  expect(r.groups.map((g) => g.length)).toEqual([1, ...Array<number>(20).fill(500)]);
  expect(r.groups.flat()).toEqual(Array.from({ length: 10_001 }, (_, i) => i));
  await expect(Promise.all(all)).resolves.toHaveLength(10_001);
});

test('with 4 in flight, the first 4 go alone at once and the rest together when one returns', async () => {
  setGroupsInFlight(4);
  const r = recorder();
  const call = grouped('test', r.run);
  const all = Array.from({ length: 10 }, (_, i) => call(i));
  expect(r.groups).toEqual([[0], [1], [2], [3]]);
  r.release();
  await settle();
  expect(r.groups).toEqual([[0], [1], [2], [3], [4, 5, 6, 7, 8, 9]]);
  for (let i = 0; i < 4; i++) r.release();
  await expect(Promise.all(all)).resolves.toEqual(Array.from({ length: 10 }, (_, i) => `ok ${i}`));
});
