import type { ErrorRequestHandler } from 'express';
import { z } from 'zod';
import { HttpError, errorBody, type FieldError } from '../http-error';

export type { FieldError } from '../http-error';

/**
 * A 400 naming each offending field (dotted path, e.g. `events.0.currency`): the request does not
 * match the OpenAPI document. A 422 has the same shape: it matches the document, but a rule the
 * document cannot state refuses it (a record it names does not exist, fields that must agree).
 */
export class ValidationError extends HttpError {
  constructor(
    readonly fields: FieldError[],
    status: 400 | 422 = 400,
  ) {
    super(status, `invalid request: ${fields.map((f) => `${f.path || '(root)'}: ${f.message}`).join('; ')}`);
  }
}

/** A 422: see ValidationError. */
export const unprocessable = (fields: FieldError[]) => new ValidationError(fields, 422);

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    const base = issue.path.map(String).join('.');
    // A misspelt field would otherwise be dropped silently: name it.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ path: base ? `${base}.${k}` : k, message: 'unknown field' }));
    }
    return [{ path: base, message: issue.message }];
  });
}

export function parseInput<T extends z.ZodType>(schema: T, data: unknown): z.output<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const onlyRules = result.error.issues.every((i) => i.code === 'custom' && (i.params as { unprocessable?: boolean } | undefined)?.unprocessable);
  throw new ValidationError(fieldErrors(result.error), onlyRules ? 422 : 400);
}

/** The API's error shape: `{error, fields?}`; anything it does not recognise goes on to the server's handler. */
export const apiErrors: ErrorRequestHandler = (err, _req, res, next) => {
  if (res.headersSent) return next(err);
  if (err instanceof ValidationError) {
    res.status(err.status).json(errorBody(err.message, err.fields));
    return;
  }
  if (err?.type === 'entity.parse.failed') {
    res.status(400).json(errorBody('the body is not valid JSON'));
    return;
  }
  if (err?.type === 'entity.too.large') {
    res.status(413).json(errorBody('the body is too large'));
    return;
  }
  // The models' own validators are a second line behind zod: still the client's fault, never a 500.
  if (err?.name === 'ValidationError' && err.errors && typeof err.errors === 'object') {
    const fields = Object.entries(err.errors as Record<string, { message?: string }>).map(([path, e]) => ({ path, message: String(e?.message ?? 'is invalid') }));
    res.status(400).json(errorBody(`invalid request: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`, fields));
    return;
  }
  if (err?.name === 'CastError' && typeof err.path === 'string') {
    res.status(400).json(errorBody(`invalid request: ${err.path}: has the wrong type`, [{ path: err.path, message: 'has the wrong type' }]));
    return;
  }
  if (err?.code === 11000) {
    res.status(409).json(errorBody('a record with this id already exists'));
    return;
  }
  if (err instanceof HttpError) {
    res.status(err.status).json(errorBody(err.message));
    return;
  }
  next(err);
};
