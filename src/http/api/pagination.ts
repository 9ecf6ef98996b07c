import type { z } from 'zod';
import { responseJsonOf } from './schemas';
// Cursor pagination on _id: a page is "the next `limit` ids after the last one seen", which stays
// stable while records are added or changed (offsets would shift and repeat or skip records).

export interface Page<T> {
  data: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  next_cursor: string | null;
}

// The cursor is the last id of the page itself (the query schema bounds its characters): any such
// string is a position in the _id order, so every cursor the document allows is one the server takes.

/** `fetch` gets the filter for ids after the cursor and must return up to `limit` records sorted by _id. */
export async function paginate<T extends { _id: unknown }, R>(
  q: { limit: number; cursor?: string },
  fetch: (after: { _id?: { $gt: string } }, limit: number) => Promise<T[]>,
  present: (doc: T) => R,
): Promise<Page<R>> {
  const docs = await fetch(q.cursor === undefined ? {} : { _id: { $gt: q.cursor } }, q.limit + 1);
  const more = docs.length > q.limit;
  const shown = more ? docs.slice(0, q.limit) : docs;
  return { data: shown.map(present), next_cursor: more ? String(shown[shown.length - 1]!._id) : null };
}

/** The JSON Schema of a page of `items`. */
export function pageSchema(items: z.ZodType | Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    required: ['data', 'next_cursor'],
    properties: { data: { type: 'array', items: responseJsonOf(items) }, next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last page' } },
  };
}
