import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { dayEnd, dayStart } from './format';
import { navigate } from './router';

// A list page's filters are in its URL, so a filtered list can be shared as a link: the form starts
// from the URL, and Filter (or Next page) navigates to the URL of what the form holds.

export interface FilterForm<F extends string> {
  values: Record<F, string>;
  set: (name: F, value: string) => void;
  /** To the page's URL with the form's filters (empty ones left out) and `extra`, such as a cursor. */
  go: (extra?: Record<string, string>) => void;
  /** The filters in the URL as the API takes them: `from` and `to` are local days, sent as the instants that start and end them. */
  query: Record<string, string | undefined>;
}

export function useFilterForm<F extends string>(path: string, params: URLSearchParams, names: readonly F[], defaults: Partial<Record<F, string>> = {}): FilterForm<F> {
  const fromUrl = (name: F) => params.get(name) ?? defaults[name];
  const [values, setValues] = useState(() => Object.fromEntries(names.map((name) => [name, fromUrl(name) ?? ''])) as Record<F, string>);
  const query: Record<string, string | undefined> = Object.fromEntries(names.map((name) => [name, fromUrl(name)]));
  if ('from' in query) query.from = dayStart(query.from);
  if ('to' in query) query.to = dayEnd(query.to);
  query.cursor = params.get('cursor') ?? undefined;
  return {
    values,
    set: (name, value) => setValues((v) => ({ ...v, [name]: value })),
    go: (extra = {}) => {
      const next = new URLSearchParams();
      for (const [k, v] of Object.entries({ ...values, ...extra })) if (v) next.set(k, v);
      navigate(`${path}?${next.toString()}`);
    },
    query,
  };
}

export function Filters<F extends string>({ form, children }: { form: FilterForm<F>; children: ComponentChildren }) {
  return (
    <form
      class="card filters"
      onSubmit={(e) => {
        e.preventDefault();
        form.go();
      }}
    >
      <div class="fields">{children}</div>
      <button type="submit">Filter</button>
    </form>
  );
}

export function TextFilter<F extends string>({ form, name, label, type = 'text' }: { form: FilterForm<F>; name: F; label: string; type?: 'text' | 'date' }) {
  return (
    <label>
      {label}
      {/* preact types an input's attributes by a literal type; this one takes either */}
      <input type={type as 'text'} value={form.values[name]} onInput={(e) => form.set(name, e.currentTarget.value)} />
    </label>
  );
}

export function SelectFilter<F extends string>({ form, name, label, options }: { form: FilterForm<F>; name: F; label: string; options: readonly (readonly [value: string, label: string])[] }) {
  return (
    <label>
      {label}
      <select value={form.values[name]} onChange={(e) => form.set(name, e.currentTarget.value)}>
        {options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}
