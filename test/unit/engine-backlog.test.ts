import { EngineBacklog } from '../../src/handover/engine-backlog';

test('behind once a read says more than the bound waits; the first look waits for its read, later ones use the last, read at most every readMs', async () => {
  let reads = 0;
  let backlog: number | null = 80;
  let release: (() => void) | null = null;
  const e = new EngineBacklog(
    () => {
      reads++;
      return reads === 1 ? Promise.resolve(backlog) : new Promise((r) => (release = () => r(backlog)));
    },
    { bound: 50, readMs: 1_000 },
  );
  expect(await e.behind(0)).toBe(true);
  expect(await e.behind(999)).toBe(true);
  expect(reads).toBe(1);
  backlog = 50;
  // A new read starts; until it answers, the last one stands.
  expect(await e.behind(1_000)).toBe(true);
  expect(reads).toBe(2);
  expect(await e.behind(1_500)).toBe(true);
  expect(reads).toBe(2);
  release!();
  await e.settled();
  expect(await e.behind(1_501)).toBe(false);
});

test('an unknown backlog (an error, no stats) does not hold the hand-over back', async () => {
  const errors: unknown[] = [];
  let answer: () => Promise<number | null> = async () => 500;
  const e = new EngineBacklog(() => answer(), { bound: 50, readMs: 100, onError: (err) => errors.push(err) });
  expect(await e.behind(0)).toBe(true);
  answer = async () => {
    throw new Error('UNIMPLEMENTED');
  };
  await e.behind(100);
  await e.settled();
  expect(await e.behind(101)).toBe(false);
  expect(errors).toHaveLength(1);
  answer = async () => null;
  await e.behind(200);
  await e.settled();
  expect(await e.behind(201)).toBe(false);
});
