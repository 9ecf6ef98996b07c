import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { dayEnd, dayStart } from './format';
import { navigate } from './router';

// A list page's filters are in its URL, so a filtered list can be shared as a link: the form starts
// from the URL, and Filter navigates to the URL of what the form holds. Next page keeps the URL's
// filters (a cursor belongs to the list it came from), and a new URL (Back, a link) shows its own.

export interface FilterForm<F extends string> {
  values: Record<F, string>;
  set: (name: F, value: string) => void;
  /** To the page's URL with the form's filters (empty ones left out). */
  submit: () => void;
  /** To the page's URL with the filters of the list shown (the URL's) and `extra`, such as a cursor. */
  go: (extra?: Record<string, string>) => void;
  /** The filters in the URL as the API takes them: `from` and `to` are local days, sent as the instants that start and end them. */
  query: Record<string, string | undefined>;
}

export function useFilterForm<F extends string>(path: string, params: URLSearchParams, names: readonly F[], defaults: Partial<Record<F, string>> = {}): FilterForm<F> {
  const fromUrl = (name: F) => params.get(name) ?? defaults[name];
  const inUrl = Object.fromEntries(names.map((name) => [name, fromUrl(name) ?? ''])) as Record<F, string>;
  // Edits belong to the visit of the URL they were typed on: a new URL drops them, and coming back
  // to an earlier one (Back) does not bring them back.
  const url = params.toString();
  const visit = useRef({ url, n: 0 });
  if (visit.current.url !== url) visit.current = { url, n: visit.current.n + 1 };
  const n = visit.current.n;
  const [edits, setEdits] = useState<{ n: number; values: Partial<Record<F, string>> }>({ n, values: {} });
  const values = { ...inUrl, ...(edits.n === n ? edits.values : {}) };
  const query: Record<string, string | undefined> = Object.fromEntries(names.map((name) => [name, fromUrl(name)]));
  if ('from' in query) query.from = dayStart(query.from);
  if ('to' in query) query.to = dayEnd(query.to);
  query.cursor = params.get('cursor') ?? undefined;
  const goTo = (filters: Record<string, string>) => {
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v) next.set(k, v);
    navigate(`${path}?${next.toString()}`);
  };
  return {
    values,
    set: (name, value) => setEdits((e) => ({ n, values: { ...(e.n === n ? e.values : {}), [name]: value } })),
    submit: () => goTo(values),
    go: (extra = {}) => goTo({ ...inUrl, ...extra }),
    query,
  };
}

export function Filters<F extends string>({ form, children }: { form: FilterForm<F>; children: ComponentChildren }) {
  return (
    <form
      class="card filters"
      onSubmit={(e) => {
        e.preventDefault();
        form.submit();
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
