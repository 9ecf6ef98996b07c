import { api, type Me, type ResponseOf } from '../api';
import { Filters, SelectFilter, TextFilter, useFilterForm } from '../filter-form';
import { dateTime } from '../format';
import { BASE } from '../router';
import { Empty, Show, TableWrap, useAsync, NextPage } from '../ui';

const FILTERS = ['campaign', 'publisher', 'advertiser', 'status', 'from', 'to'] as const;
const STATUSES = [
  ['', 'Any'],
  ['open', 'Open'],
  ['converted', 'Converted'],
  ['expired', 'Expired'],
] as const;

export function Sessions({ params }: { me: Me; params: URLSearchParams }) {
  const form = useFilterForm('/sessions', params, FILTERS);
  const [page] = useAsync(() => api<ResponseOf<'/sessions'>>('/sessions', { query: { ...form.query, limit: 50 } }), params.toString());
  return (
    <section aria-labelledby="sessions-title">
      <h1 id="sessions-title">Sessions</h1>
      <Filters form={form}>
        <TextFilter form={form} name="campaign" label="Campaign id" />
        <TextFilter form={form} name="publisher" label="Publisher id" />
        <TextFilter form={form} name="advertiser" label="Advertiser id" />
        <SelectFilter form={form} name="status" label="Status" options={STATUSES} />
        <TextFilter form={form} name="from" label="Clicked from" type="date" />
        <TextFilter form={form} name="to" label="Clicked before" type="date" />
      </Filters>
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
              <NextPage cursor={p.next_cursor} go={form.go} />
            </>
          )
        }
      </Show>
    </section>
  );
}
