import { ValidationError } from './validation';

// Cursor pagination on _id: a page is "the next `limit` ids after the last one seen", which stays
// stable while records are added or changed (offsets would shift and repeat or skip records).

export interface Page<T> {
  data: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  next_cursor: string | null;
}

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!id || encodeCursor(id) !== cursor) throw new ValidationError([{ path: 'cursor', message: 'must be a next_cursor value from a previous page' }]);
  return id;
}

/** `fetch` gets the filter for ids after the cursor and must return up to `limit` records sorted by _id. */
export async function paginate<T extends { _id: unknown }, R>(
  q: { limit: number; cursor?: string },
  fetch: (after: { _id?: { $gt: string } }, limit: number) => Promise<T[]>,
  present: (doc: T) => R,
): Promise<Page<R>> {
  const after = decodeCursor(q.cursor);
  const docs = await fetch(after === null ? {} : { _id: { $gt: after } }, q.limit + 1);
  const more = docs.length > q.limit;
  const shown = more ? docs.slice(0, q.limit) : docs;
  return { data: shown.map(present), next_cursor: more ? encodeCursor(String(shown[shown.length - 1]!._id)) : null };
}
