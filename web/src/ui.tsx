import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { BASE } from './router';

export function Loading({ what }: { what: string }) {
  return (
    <p class="status" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorMessage({ error }: { error: unknown }) {
  const message = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  const fields = error instanceof ApiError ? error.fields : [];
  return (
    <div class="error" role="alert">
      <p>{message}</p>
      {fields.length > 0 && (
        <ul>
          {fields.map((f) => (
            <li key={f.path}>
              <strong>{f.path}</strong>: {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export type Async<T> = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'ready'; value: T };

/** Runs `load` whenever `key` changes; an answer for an older key is dropped. */
export function useAsync<T>(load: () => Promise<T>, key: string): [Async<T>, () => void] {
  const [result, setResult] = useState<Async<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setResult({ state: 'loading' });
    load().then(
      (value) => live && setResult({ state: 'ready', value }),
      (error: unknown) => live && setResult({ state: 'error', error }),
    );
    return () => {
      live = false;
    };
  }, [key, round]);
  return [result, () => setRound((r) => r + 1)];
}

export function Show<T>({ value, what, children }: { value: Async<T>; what: string; children: (v: T) => ComponentChildren }) {
  if (value.state === 'loading') return <Loading what={what} />;
  if (value.state === 'error') return <ErrorMessage error={value.error} />;
  return <>{children(value.value)}</>;
}

/** A table that scrolls sideways on narrow screens; focusable so keyboard users can scroll it too. */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}

/** The list's next page, when the API says there is one. */
export function NextPage({ cursor, go }: { cursor: string | null | undefined; go: (extra: { cursor: string }) => void }) {
  return cursor ? (
    <button type="button" onClick={() => go({ cursor })}>
      Next page
    </button>
  ) : null;
}

export function SessionLink({ id }: { id: string }) {
  return <a href={`${BASE}/sessions/${encodeURIComponent(id)}`}>{id}</a>;
}
