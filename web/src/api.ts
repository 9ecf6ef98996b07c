import type { components, paths } from './generated/api';
// The dashboard's client for /api/v1. It signs in with the session cookie (HttpOnly: no script
// here can read it) and sends the session's CSRF token on every change.

/** What the server answers, as /api/v1/openapi.json declares it (npm run api-types generates ./generated/api). */
export type Schemas = components['schemas'];
export type Me = Schemas['WhoAmI'];
export type KeyKind = Me['kind'];

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let onSignedOut: () => void = () => undefined;

export function whenSignedOut(fn: () => void): void {
  onSignedOut = fn;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function queryString(q: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

export function apiUrl(path: string, q?: Query): string {
  return `/api/v1${path}${queryString(q)}`;
}

export async function api<T>(path: string, opts: { method?: string; query?: Query; body?: unknown } = {}): Promise<T> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(apiUrl(path, opts.query), { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'clicktrail could not be reached: check your connection and try again');
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const body = (data ?? {}) as { error?: string; fields?: FieldError[] };
    const message = body.error ?? `the server answered ${res.status} ${res.statusText}`;
    if (res.status === 401 && path !== '/session') onSignedOut();
    throw new ApiError(res.status, message, body.fields ?? []);
  }
  return data as T;
}

export async function signIn(key: string): Promise<Me> {
  const me = await request('post', '/session', { body: { key } });
  csrfToken = me.csrf_token;
  return me;
}

/** After a reload: the cookie may still be valid; the CSRF token comes back with it. */
export async function currentSession(): Promise<Me | null> {
  try {
    const me = await request('get', '/session');
    csrfToken = me.csrf_token;
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

export async function signOut(): Promise<void> {
  try {
    await request('delete', '/session');
  } finally {
    csrfToken = null;
  }
}

// --- shapes of the answers the pages read ---

export type MoneyRow = Schemas['ReportMoney'];
export type ReportMetrics = Schemas['ReportTotals'];
export type ReportRow = Schemas['ReportRow'];
export type Report = Schemas['Report'];
export type Dimension = Report['group_by'][number];

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

// --- requests typed from the OpenAPI document (npm run api-types generates ./generated/api) ---

type Method = 'get' | 'post' | 'patch' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
export type BodyOf<P extends keyof paths, M extends Method> = Operation<P, M> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
export type QueryOf<P extends keyof paths, M extends Method = 'get'> = Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type PathParamsOf<P extends keyof paths, M extends Method> = Operation<P, M> extends { parameters: { path: infer T } } ? T : never;
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : never;
/** The success body the document declares (200, 201 or 202). */
export type ResponseOf<P extends keyof paths, M extends Method = 'get'> = Operation<P, M> extends { responses: infer R }
  ? R extends { 200: infer A } ? JsonOf<A> : R extends { 201: infer A } ? JsonOf<A> : R extends { 202: infer A } ? JsonOf<A> : never
  : never;

/**
 * A request the document describes: the path is one of its templates, `{id}` filled from `params`,
 * and the query and body are checked against its schemas at compile time.
 */
export function request<P extends keyof paths, M extends Method>(
  method: M,
  path: P,
  opts: { params?: PathParamsOf<P, M>; query?: QueryOf<P, M>; body?: BodyOf<P, M> } = {},
): Promise<ResponseOf<P, M>> {
  const params = (opts.params ?? {}) as Record<string, string>;
  const filled = String(path).replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
  return api<ResponseOf<P, M>>(filled, { method: method.toUpperCase(), query: opts.query as Query | undefined, body: opts.body });
}
