// The hot paths (click, pixel, postback) wait on MongoDB for at most this long per operation,
// then take their fallback. Without it a frozen server holds a request until the socket gives up
// (never, by default) and a stopped one for mongoose's 10 s of buffering (design review #5).
// The operation itself is not cancelled: a write that lands after its budget is harmless because
// every fallback writes idempotently (upserts keyed by the same id), and an accepted conversion
// stored after its 503 is rewritten as refused (conversion-intake.ts).

let budgetMs = 2_000;
let lastUnavailableAtMs = Number.NEGATIVE_INFINITY;

/** Set once at start from MONGO_OP_TIMEOUT_MS (connectDatabase). */
export function setOperationBudget(ms: number): void {
  budgetMs = ms;
}

export function operationBudgetMs(): number {
  return budgetMs;
}

/**
 * When this process last met MongoDB not answering in time or failing (ms; -Infinity: never). A
 * click made then may be held by Temporal until its workflow stores it (click.ts), so "not found"
 * soon after means "not yet" (conversion-intake.ts).
 */
export function lastUnavailableAt(): number {
  return lastUnavailableAtMs;
}

/** MongoDB did not do it within the budget, or failed: the caller's fallback applies. */
export class DatabaseUnavailable extends Error {
  override readonly name = 'DatabaseUnavailable';
}

/** `operation`'s answer, or DatabaseUnavailable after `ms` (MONGO_OP_TIMEOUT_MS unless a caller has less time left). */
export async function withinBudget<T>(operation: Promise<T>, what: string, ms = budgetMs): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailable(`${what}: no answer from MongoDB within ${Math.round(ms)} ms (MONGO_OP_TIMEOUT_MS)`)), Math.max(0, ms));
  });
  try {
    return await Promise.race([operation, timeout]);
  } catch (err) {
    lastUnavailableAtMs = Date.now();
    if (err instanceof DatabaseUnavailable) {
      operation.catch(() => undefined);
      throw err;
    }
    throw new DatabaseUnavailable(`${what}: ${String(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
