import { useState } from 'preact/hooks';
import { api, type Me, type ResponseOf, type Schemas } from '../api';
import { dateTime, dayEnd, dayStart } from '../format';
import { BASE, navigate } from '../router';
import { Empty, Show, TableWrap, useAsync, NextPage } from '../ui';

export type SessionRecord = Schemas['Session'];

const FILTERS = ['campaign', 'publisher', 'advertiser', 'status', 'from', 'to'] as const;

export function Sessions({ params }: { me: Me; params: URLSearchParams }) {
  const query = { ...Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? undefined])), from: dayStart(params.get('from')), to: dayEnd(params.get('to')) };
  const cursor = params.get('cursor') ?? undefined;
  const [page] = useAsync(() => api<ResponseOf<'/sessions'>>('/sessions', { query: { ...query, cursor, limit: 50 } }), params.toString());
  const [form, setForm] = useState<Record<string, string>>(Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])));
  const go = (extra: Record<string, string> = {}) => {
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...form, ...extra })) if (v) next.set(k, v);
    navigate(`/sessions?${next.toString()}`);
  };
  return (
    <section aria-labelledby="sessions-title">
      <h1 id="sessions-title">Sessions</h1>
      <form
        class="card filters"
        onSubmit={(e) => {
          e.preventDefault();
          go();
        }}
      >
        <div class="fields">
          {(['campaign', 'publisher', 'advertiser'] as const).map((f) => (
            <label key={f}>
              {f[0]!.toUpperCase() + f.slice(1)} id
              <input type="text" value={form[f]} onInput={(e) => setForm({ ...form, [f]: (e.target as HTMLInputElement).value })} />
            </label>
          ))}
          <label>
            Status
            <select value={form.status} onChange={(e) => setForm({ ...form, status: (e.target as HTMLSelectElement).value })}>
              <option value="">Any</option>
              <option value="open">Open</option>
              <option value="converted">Converted</option>
              <option value="expired">Expired</option>
            </select>
          </label>
          <label>
            Clicked from
            <input type="date" value={form.from} onInput={(e) => setForm({ ...form, from: (e.target as HTMLInputElement).value })} />
          </label>
          <label>
            Clicked before
            <input type="date" value={form.to} onInput={(e) => setForm({ ...form, to: (e.target as HTMLInputElement).value })} />
          </label>
        </div>
        <button type="submit">Filter</button>
      </form>
      <Show value={page} what="sessions">
        {(p) =>
          p.data.length === 0 ? (
            <Empty>No sessions match. A click on a tracked link makes one.</Empty>
          ) : (
            <>
              <TableWrap label={'Sessions table'}>
                <table data-testid="sessions-table">
                  <caption>Sessions, oldest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Session</th>
                      <th scope="col">Clicked</th>
                      <th scope="col">Campaign</th>
                      <th scope="col">Publisher</th>
                      <th scope="col">Country</th>
                      <th scope="col">Device</th>
                      <th scope="col">Status</th>
                    </tr>
                  </thead>
                  <tbody>
                    {p.data.map((s) => (
                      <tr key={s.id}>
                        <td>
                          <a href={`${BASE}/sessions/${encodeURIComponent(s.id)}`}>{s.id}</a>
                        </td>
                        <td>{dateTime(s.createdAt)}</td>
                        <td>{s.campaignId}</td>
                        <td>{s.publisherId}</td>
                        <td>{s.country ?? '—'}</td>
                        <td>{s.device?.type ?? '—'}</td>
                        <td>
                          {s.status}
                          {s.bot ? ' (bot)' : ''}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
              <NextPage cursor={p.next_cursor} go={go} />
            </>
          )
        }
      </Show>
    </section>
  );
}
