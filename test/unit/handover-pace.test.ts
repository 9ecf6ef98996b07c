import { Pace, forEachPaced } from '../../src/handover/pace';

// The hand-over's pace: bounded in flight, halved when Temporal pushes back, raised back slowly.

test('a push-back halves the limit once per moment and pauses new calls; good answers raise it back one per limit', () => {
  const pace = new Pace(16, { pauseMs: 1_000, slowCallMs: 1_000 });
  expect(pace.limit).toBe(16);
  pace.pushedBack();
  pace.pushedBack(); // calls in flight together fail together: still one cut
  expect(pace.limit).toBe(8);
  expect(pace.waitMs).toBeGreaterThan(0);
  for (let i = 0; i < 8; i++) pace.answered(10);
  expect(pace.limit).toBe(9);
  for (let i = 0; i < 1_000; i++) pace.answered(10);
  expect(pace.limit).toBe(16);
});

test('a slow answer lowers the limit without a pause; the limit never goes under one', () => {
  const pace = new Pace(2, { pauseMs: 0, slowCallMs: 100 });
  pace.answered(500);
  expect([pace.limit, pace.waitMs]).toEqual([1, 0]);
  pace.answered(500);
  pace.pushedBack();
  expect(pace.limit).toBe(1);
});

test('forEachPaced keeps at most the limit in flight, follows a cut within the batch, and stops when told', async () => {
  const pace = new Pace(4, { pauseMs: 0, slowCallMs: 10_000 });
  let inFlight = 0;
  let most = 0;
  const mostAfterCut: number[] = [];
  const done: number[] = [];
  await forEachPaced(Array.from({ length: 20 }, (_, i) => i), pace, () => done.length >= 15, async (i) => {
    inFlight++;
    most = Math.max(most, inFlight);
    if (i === 4) pace.pushedBack();
    if (i > 8) mostAfterCut.push(inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    done.push(i);
  });
  expect(most).toBe(4);
  expect(Math.max(...mostAfterCut)).toBeLessThanOrEqual(2);
  expect(done.length).toBeGreaterThanOrEqual(15);
  expect(done.length).toBeLessThan(20);
  expect(inFlight).toBe(0);
});
