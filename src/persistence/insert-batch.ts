import { MongoBulkWriteError, type Collection, type Document, type OptionalUnlessRequiredId } from 'mongodb';

// The hot paths' one write, coalesced: inserts asked for in the same turn of the event loop (the
// requests read together from their sockets) go to the database as one unordered insertMany. Each
// caller still waits for its own document to be acknowledged, and learns of its own failure only;
// what the batch saves is the per-command work of the driver, FerretDB and the database (one
// command, one round trip, one transaction) that a click would otherwise pay alone. Under light
// load a batch holds one document and is sent as the insertOne it was before.

/** Far below the driver's own split (100,000 documents, 48 MB): one command, one answer. */
const MAX_BATCH = 256;

interface Waiting<T extends Document> {
  doc: OptionalUnlessRequiredId<T>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class InsertBatch<T extends Document> {
  private waiting: Waiting<T>[] = [];
  private scheduled = false;

  constructor(private readonly collection: () => Collection<T>) {}

  /** Resolves once this document is acknowledged; rejects with its own error (a whole batch's: a network error). */
  insert(doc: OptionalUnlessRequiredId<T>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ doc, resolve, reject });
      if (this.waiting.length >= MAX_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    if (batch.length === 1) {
      const [one] = batch as [Waiting<T>];
      this.collection().insertOne(one.doc).then(() => one.resolve(), one.reject);
      return;
    }
    this.collection()
      .insertMany(batch.map((w) => w.doc), { ordered: false })
      .then(
        () => batch.forEach((w) => w.resolve()),
        (err: unknown) => settleEach(batch, err),
      );
  }
}

/**
 * Unordered: every document without a write error of its own was inserted, unless the command
 * itself failed (network, write concern), when nobody can tell which were and all are failed:
 * their callers' fallbacks write idempotently (click.ts, conversion-intake.ts).
 */
function settleEach<T extends Document>(batch: readonly Waiting<T>[], err: unknown): void {
  const errors = err instanceof MongoBulkWriteError && !hasWriteConcernError(err) ? perDocumentErrors(err) : null;
  const own = errors?.size ? errors : null;
  for (const [i, w] of batch.entries()) {
    if (!own) w.reject(err);
    else if (own.has(i)) w.reject(own.get(i));
    else w.resolve();
  }
}

function perDocumentErrors(err: MongoBulkWriteError): Map<number, Error> {
  const list = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
  const out = new Map<number, Error>();
  for (const e of list) {
    const failure = Object.assign(new Error(e.errmsg ?? `insert failed with code ${e.code}`), { code: e.code, index: e.index });
    out.set(e.index, failure);
  }
  return out;
}

function hasWriteConcernError(err: MongoBulkWriteError): boolean {
  // The driver throws on write errors before it looks at the write concern: ask the result.
  const result = err.result as { getWriteConcernError?: () => unknown } | undefined;
  return result?.getWriteConcernError?.() != null || (err as { err?: unknown }).err != null;
}
