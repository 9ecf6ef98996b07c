import { formatMinor, isCurrency } from '../../../src/domain/money';
import { request, type Me } from '../api';
import { Filters, SelectFilter, TextFilter, useFilterForm } from '../filter-form';
import { conversionStatus, dateTime } from '../format';
import { PagedTable } from '../data-table';
import { SessionLink, useAsync } from '../ui';
import { Decide } from './session';

// Conversions across sessions, with filters; a pending one can be approved or rejected here by
// its advertiser or an operator (POST /conversions/{id}/status), as on its session's page.

const FILTERS = ['campaign', 'publisher', 'advertiser', 'event', 'status', 'from', 'to'] as const;
const STATUSES = [
  ['', 'Any'],
  ['pending', 'Pending'],
  ['approved', 'Approved'],
  ['rejected', 'Rejected'],
] as const;

const amount = (minor: number | null | undefined, currency: string | null | undefined) =>
  minor === undefined || minor === null || !currency || !isCurrency(currency) ? '—' : `${formatMinor(minor, currency)} ${currency}`;

export function Conversions({ me, params }: { me: Me; params: URLSearchParams }) {
  const form = useFilterForm('/conversions', params, FILTERS);
  const [page, reload] = useAsync(() => request('get', '/conversions', { query: { ...form.query, limit: 50 } }), params.toString());
  return (
    <section aria-labelledby="conversions-title">
      <h1 id="conversions-title">Conversions</h1>
      <Filters form={form}>
        <TextFilter form={form} name="campaign" label="Campaign id" />
        {me.kind !== 'publisher' && <TextFilter form={form} name="publisher" label="Publisher id" />}
        {me.kind === 'operator' && <TextFilter form={form} name="advertiser" label="Advertiser id" />}
        <TextFilter form={form} name="event" label="Event" />
        <SelectFilter form={form} name="status" label="Status" options={STATUSES} />
        <TextFilter form={form} name="from" label="Recorded from" type="date" />
        <TextFilter form={form} name="to" label="Recorded before" type="date" />
      </Filters>
      <PagedTable
        page={page}
        what="conversions"
        empty="No conversion matches."
        go={form.go}
        label="Conversions table"
        testId="conversions-table"
        caption="Conversions, oldest first"
        rowKey={(c) => c.id}
        columns={[
          { head: 'Recorded', cell: (c) => dateTime(c.createdAt) },
          { head: 'Event', cell: (c) => c.event },
          { head: 'Status', cell: conversionStatus, testId: (c) => `conversion-status-${c.id}` },
          { head: 'Campaign', cell: (c) => c.campaignId },
          { head: 'Session', cell: (c) => <SessionLink id={c.sessionId} /> },
          { head: 'Transaction', cell: (c) => c.txid ?? '—' },
          { head: 'Sale', num: true, cell: (c) => amount(c.amountMinor, c.amountCurrency) },
          me.kind !== 'advertiser' && { head: 'Payout', num: true, cell: (c) => amount(c.payoutMinor, c.currency) },
          me.kind !== 'publisher' && { head: 'Revenue', num: true, cell: (c) => amount(c.revenueMinor, c.currency) },
          me.kind !== 'publisher' && { head: 'Decide', cell: (c) => (c.status === 'pending' ? <Decide conversion={c} onDone={reload} /> : '—') },
        ]}
      />
    </section>
  );
}
