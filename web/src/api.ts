import type { paths } from './generated/api';
// The dashboard's client for /api/v1. It signs in with the session cookie (HttpOnly: no script
// here can read it) and sends the session's CSRF token on every change.

export type KeyKind = 'operator' | 'advertiser' | 'publisher';

export interface Me {
  key_id: string;
  kind: KeyKind;
  account_id: string | null;
  expires_at: string | null;
  csrf_token: string | null;
  temporal_ui_url: string;
  temporal_namespace: string;
}

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
  const me = await api<Me>('/session', { method: 'POST', body: { key } });
  csrfToken = me.csrf_token;
  return me;
}

/** After a reload: the cookie may still be valid; the CSRF token comes back with it. */
export async function currentSession(): Promise<Me | null> {
  try {
    const me = await api<Me>('/session');
    csrfToken = me.csrf_token;
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

export async function signOut(): Promise<void> {
  try {
    await api('/session', { method: 'DELETE' });
  } finally {
    csrfToken = null;
  }
}

// --- shapes of the answers the pages read ---

export interface MoneyRow {
  currency: string;
  payout?: string;
  payout_minor?: number;
  revenue?: string;
  revenue_minor?: number;
  profit?: string;
  profit_minor?: number;
}

export interface ReportMetrics {
  clicks: number;
  bot_clicks: number;
  conversions: Record<string, number>;
  conversions_total: number;
  conversion_rate: number | null;
  money: MoneyRow[];
}

export type ReportRow = ReportMetrics & Record<string, unknown>;

export interface Report {
  from: string;
  to: string;
  tz: string;
  group_by: string[];
  rows: ReportRow[];
  totals: ReportMetrics;
}

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

/**
 * A request the document describes: the path is one of its templates, `{id}` filled from `params`,
 * and the query and body are checked against its schemas at compile time.
 */
export function request<P extends keyof paths, M extends Method>(
  method: M,
  path: P,
  opts: { params?: PathParamsOf<P, M>; query?: QueryOf<P, M>; body?: BodyOf<P, M> } = {},
): Promise<unknown> {
  const params = (opts.params ?? {}) as Record<string, string>;
  const filled = String(path).replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
  return api<unknown>(filled, { method: method.toUpperCase(), query: opts.query as Query | undefined, body: opts.body });
}
