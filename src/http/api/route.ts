import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { ApiKeyKind } from '../../persistence/models/api-key';
import { HttpError } from '../http-error';
import { principalOf, type Principal } from './principal';
import { ValidationError, parseInput } from './validation';

export type Method = 'get' | 'post' | 'patch' | 'delete';

/** What the OpenAPI document is generated from: every route declares itself here. */
export interface RouteDoc {
  method: Method;
  /** Express syntax, relative to /api/v1: `/campaigns/:id`. */
  path: string;
  tag: string;
  summary: string;
  kinds: readonly ApiKeyKind[];
  query?: z.ZodType;
  body?: z.ZodType;
  status: number;
  /** The success body: a zod schema, or a JSON Schema (records, from their models: record-schema.ts). */
  response?: z.ZodType | Record<string, unknown>;
  /** Extra response media types besides JSON (reports: text/csv). */
  produces?: string[];
  /** Served without an API key. */
  public?: boolean;
}

export interface Ctx<Q, B> {
  req: Request;
  res: Response;
  principal: Principal;
  params: Record<string, string>;
  query: Q;
  body: B;
}

type Output<S> = S extends z.ZodType ? z.output<S> : undefined;

export const ALL_KINDS: readonly ApiKeyKind[] = ['operator', 'advertiser', 'publisher'];
export const OPERATOR: readonly ApiKeyKind[] = ['operator'];

/** An express router whose routes validate their input with zod and document themselves. */
export class ApiRouter {
  readonly router = Router();

  constructor(
    private readonly registry: RouteDoc[],
    private readonly tag: string,
  ) {}

  route<Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
    method: Method,
    path: string,
    doc: { summary: string; kinds: readonly ApiKeyKind[]; query?: Q; body?: B; status?: number; produces?: string[]; response?: RouteDoc['response'] },
    handler: (ctx: Ctx<Output<Q>, Output<B>>) => Promise<unknown>,
  ): void {
    const status = doc.status ?? 200;
    this.registry.push({ method, path, tag: this.tag, summary: doc.summary, kinds: doc.kinds, query: doc.query, body: doc.body, status, produces: doc.produces, response: doc.response });
    this.router[method](path, async (req, res) => {
      const principal = principalOf(res);
      if (!doc.kinds.includes(principal.kind)) {
        throw new HttpError(403, `${principal.kind} keys may not use ${method.toUpperCase()} /api/v1${path}`);
      }
      const query = (doc.query ? parseInput(doc.query, req.query) : undefined) as Output<Q>;
      if (doc.body && req.body === undefined) {
        // express.json leaves the body unset when there is none or it is not JSON.
        if (req.headers['content-type']) throw new HttpError(415, `send the body as JSON (Content-Type: application/json), not ${req.headers['content-type']}`);
        throw new ValidationError([{ path: '(body)', message: 'is required: a JSON object' }]);
      }
      const body = (doc.body ? parseInput(doc.body, req.body) : undefined) as Output<B>;
      const result = await handler({ req, res, principal, params: req.params as Record<string, string>, query, body });
      if (!res.headersSent) res.status(status).json(result);
    });
  }
}
