import fc from 'fast-check';
import { v7 as uuidv7 } from 'uuid';
import { handedOver, idFloor, idTime } from '../../src/handover/session-ranges';

// The hand-over walks sessions by id: that is only sound if a UUIDv7's string order is its time
// order, and if the bound it computes from a time sorts between that millisecond's ids and the
// ones before.

const ms = fc.integer({ min: 10_000, max: 2 ** 48 - 10_001 });

test('the floor of a millisecond sorts above every id of earlier milliseconds and at or below every id of it and later ones', () => {
  fc.assert(
    fc.property(ms, fc.integer({ min: 1, max: 10_000 }), (t, later) => {
      const floor = idFloor(t);
      const before = uuidv7({ msecs: t - later });
      const at = uuidv7({ msecs: t });
      const after = uuidv7({ msecs: t + later });
      expect(before < floor && floor <= at && at < after).toBe(true);
    }),
  );
});

test("an id's time is the millisecond it was made in", () => {
  fc.assert(fc.property(ms, (t) => expect(idTime(uuidv7({ msecs: t }))).toBe(t)));
  expect(idTime(idFloor(1_764_489_600_123))).toBe(1_764_489_600_123);
  // Not a UUIDv7: no time, so the hand-over never schedules a round for it.
  expect(Number.isFinite(idTime('p'.repeat(36)))).toBe(false);
});

test('a session is handed over once the cursor is past it and no open claim still holds it', () => {
  const [a, b, c, d] = [1, 2, 3, 4].map((t) => uuidv7({ msecs: 1_764_489_600_000 + t })) as [string, string, string, string];
  const until = new Date();
  const state = { _id: 'sessions' as const, v: 1, next: c, claims: [{ from: a, to: c, by: 'w#1', until }] };
  expect([a, b, c, d].map((id) => handedOver(state, id))).toEqual([true, false, false, false]);
  const retrying = { ...state, claims: [{ from: a, to: c, by: 'w#1', until, retry: [c] }] };
  expect([a, b, c, d].map((id) => handedOver(retrying, id))).toEqual([true, true, false, false]);
  expect([a, b, c, d].map((id) => handedOver({ ...state, claims: [] }, id))).toEqual([true, true, true, false]);
});
