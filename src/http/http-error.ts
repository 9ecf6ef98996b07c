/** An error with the status and message the client should see. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** One offending field of a request: its name (a dotted path in JSON bodies) and what is wrong. */
export interface FieldError {
  path: string;
  message: string;
}

/** The one error body of every JSON endpoint (`/postback` adds its `request_id`). */
export interface ErrorBody {
  error: string;
  fields: FieldError[];
}

export function errorBody(error: string, fields: FieldError[] = []): ErrorBody {
  return { error, fields };
}

/** The first value of a query parameter, or undefined. */
export function firstString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

export { ID_RE } from '../domain/conversion-params';
