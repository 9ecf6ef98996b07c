import { issueApiKey, type ApiKeyKind } from '../../src/persistence/models/api-key';
import type { TestApp } from './harness';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the tests' expectations
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

/** A small JSON client for /api/v1 with one API key. */
export function apiClient(app: TestApp, key: string | null) {
  const call = async (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const headers: Record<string, string> = {};
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(app.url(`/api/v1${path}`), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body: unknown = {}) => call('POST', path, body),
    patch: (path: string, body: unknown) => call('PATCH', path, body),
    del: (path: string) => call('DELETE', path),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;

/** Issues a key straight in the database (as the CLI does) and returns a client using it. */
export async function clientFor(app: TestApp, kind: ApiKeyKind, accountId: string | null = null): Promise<ApiClient> {
  const { key } = await issueApiKey({ kind, accountId });
  return apiClient(app, key);
}
