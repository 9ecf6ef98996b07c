import { HELD_CLICKS_MARK_ID, heldClicksMark } from './models/held-clicks-mark';
import { withinBudget } from './operation-budget';

// A click MongoDB did not take is handed to Temporal (click.ts), and its workflow stores it once
// MongoDB answers again; until then a postback for it finds nothing. The process that handed it
// over knows that (lastUnavailableAt). The others, and a process started after the outage, learn
// it from one document this process writes as soon as MongoDB answers.

const PUBLISH_RETRY_MS = 2_000;
const READ_EVERY_MS = 2_000;

/** The latest held click not in the document yet (its id's time, ms). */
let unpublished = Number.NEGATIVE_INFINITY;
let publishing: NodeJS.Timeout | null = null;
let lastRead: { at: number; value: Promise<number> } | null = null;

/** A click made at `madeAtMs` went to Temporal instead of MongoDB. */
export function noteClickHeld(madeAtMs: number): void {
  unpublished = Math.max(unpublished, madeAtMs);
  // MongoDB has just failed: the first try waits a little. The timer must not keep a process alive.
  publishing ??= setTimeout(() => void publish(), PUBLISH_RETRY_MS).unref();
}

async function publish(): Promise<void> {
  const at = unpublished;
  try {
    await withinBudget(heldClicksMark().updateOne({ _id: HELD_CLICKS_MARK_ID }, { $max: { lastAt: new Date(at) } }, { upsert: true }), 'held clicks mark');
    if (unpublished === at) unpublished = Number.NEGATIVE_INFINITY;
  } catch {
    // Still away: tried again below.
  }
  publishing = unpublished > Number.NEGATIVE_INFINITY ? setTimeout(() => void publish(), PUBLISH_RETRY_MS).unref() : null;
}

/**
 * When the latest click any process handed to Temporal was made (ms; -Infinity: none, or MongoDB
 * did not say). Read on a click id not found only, and at most every READ_EVERY_MS: a flood of
 * made-up ids costs one read per interval.
 */
export function latestHeldClick(now = Date.now()): Promise<number> {
  if (!lastRead || now - lastRead.at >= READ_EVERY_MS) {
    const value = withinBudget(heldClicksMark().findOne({ _id: HELD_CLICKS_MARK_ID }), 'held clicks mark read').then(
      (doc) => doc?.lastAt.getTime() ?? Number.NEGATIVE_INFINITY,
      () => Number.NEGATIVE_INFINITY,
    );
    lastRead = { at: now, value };
  }
  return lastRead.value;
}
