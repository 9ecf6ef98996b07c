import { TimeBudget } from '../../src/http/api/query-budget';
import { KeyConcurrency, RowCap } from '../../src/reports/limits';
import { HttpError } from '../../src/http/http-error';

test('a key runs at most `max` reports at once; a release frees its slot once, and keys do not share slots', () => {
  const c = new KeyConcurrency(2);
  const a1 = c.enter('a');
  const a2 = c.enter('a');
  expect([a1, a2].every(Boolean)).toBe(true);
  expect(c.enter('a')).toBeNull();
  expect(c.enter('b')).not.toBeNull();
  a1!();
  a1!();
  const a3 = c.enter('a');
  expect(a3).not.toBeNull();
  expect(c.enter('a')).toBeNull();
});

test('rows are counted once each; one past the cap is a 422 naming REPORT_MAX_ROWS', () => {
  const cap = new RowCap(2);
  cap.add('x');
  cap.add('x');
  cap.add('y');
  let err: unknown;
  try {
    cap.add('z');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(HttpError);
  expect([(err as HttpError).status, (err as HttpError).message]).toEqual([422, expect.stringContaining('more than 2 rows (REPORT_MAX_ROWS)')]);
});

test('a budget answers 503 at its deadline even when the query never does, and maps the server\'s MaxTimeMSExpired to the same 503', async () => {
  const budget = new TimeBudget(20, 'took too long');
  let expired = false;
  const never = new Promise<never>(() => undefined);
  await expect(budget.race(never, () => (expired = true))).rejects.toMatchObject({ status: 503, message: 'took too long' });
  expect(expired).toBe(true);
  expect(() => budget.maxTimeMS).toThrow('took too long');
  const fresh = new TimeBudget(60_000, 'slow');
  await expect(fresh.race(Promise.reject(Object.assign(new Error('operation exceeded time limit'), { code: 50 })))).rejects.toMatchObject({ status: 503, message: 'slow' });
  await expect(fresh.race(Promise.reject(new Error('other')))).rejects.toThrow('other');
  await expect(fresh.race(Promise.resolve(7))).resolves.toBe(7);
});
