import fc from 'fast-check';
import { v7 as uuidv7 } from 'uuid';
import { handedOver } from '../../src/handover/session-ranges';
import { idFloor, idRange, idRangeHint, idTime } from '../../src/persistence/session-ids';

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

test('a time range [from, to) of sessions is the id range of the ids made in it, either end open', () => {
  const inRange = (id: string, r: { $gte?: string; $lt?: string }) => (r.$gte === undefined || id >= r.$gte) && (r.$lt === undefined || id < r.$lt);
  fc.assert(
    fc.property(ms, fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), (from, span, offset) => {
      const to = from + span;
      const made = from - 5_000 + offset;
      const id = uuidv7({ msecs: made });
      expect(inRange(id, idRange(new Date(from), new Date(to)))).toBe(made >= from && made < to);
      expect(inRange(id, idRange(from, undefined))).toBe(made >= from);
      expect(inRange(id, idRange(undefined, to))).toBe(made < to);
    }),
  );
  // Before 1970 (the API takes any 4-digit year): no id is made there.
  expect(idRange(new Date('0001-01-01T00:00:00Z'), new Date('1969-12-31T00:00:00Z'))).toEqual({ $gte: idFloor(0), $lt: idFloor(0) });
});

test('an id range is read on the primary key unless a scope with a {field, _id} index filters it', () => {
  expect(idRangeHint([])).toEqual({ hint: { _id: 1 } });
  expect(idRangeHint(['_id', 'status', 'country'])).toEqual({ hint: { _id: 1 } });
  for (const f of ['campaignId', 'publisherId']) expect(idRangeHint(['_id', f])).toEqual({});
  // No index of its own: an advertiser's sessions are bounded by its campaigns (advertiser-campaigns.ts).
  expect(idRangeHint(['_id', 'advertiserId'])).toEqual({ hint: { _id: 1 } });
});
