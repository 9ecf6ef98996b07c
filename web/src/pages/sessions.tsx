import { api, type Me, type ResponseOf } from '../api';
import { Filters, SelectFilter, TextFilter, useFilterForm } from '../filter-form';
import { dateTime, sessionStatus } from '../format';
import { PagedTable } from '../data-table';
import { SessionLink, useAsync } from '../ui';

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
      <PagedTable
        page={page}
        what="sessions"
        empty="No sessions match. A click on a tracked link makes one."
        go={form.go}
        label="Sessions table"
        testId="sessions-table"
        caption="Sessions, oldest first"
        rowKey={(s) => s.id}
        columns={[
          { head: 'Session', cell: (s) => <SessionLink id={s.id} /> },
          { head: 'Clicked', cell: (s) => dateTime(s.createdAt) },
          { head: 'Campaign', cell: (s) => s.campaignId },
          { head: 'Publisher', cell: (s) => s.publisherId },
          { head: 'Country', cell: (s) => s.country ?? '—' },
          { head: 'Device', cell: (s) => s.device?.type ?? '—' },
          { head: 'Status', cell: sessionStatus },
        ]}
      />
    </section>
  );
}
