import { formatMinor, isCurrency } from '../../../src/domain/money';
import { request, type Me } from '../api';
import { Filters, SelectFilter, TextFilter, useFilterForm } from '../filter-form';
import { dateTime } from '../format';
import { BASE } from '../router';
import { Empty, Show, TableWrap, useAsync, NextPage } from '../ui';
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
  const decides = me.kind !== 'publisher';
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
      <Show value={page} what="conversions">
        {(p) =>
          p.data.length === 0 ? (
            <Empty>No conversion matches.</Empty>
          ) : (
            <>
              <TableWrap label="Conversions table">
                <table data-testid="conversions-table">
                  <caption>Conversions, oldest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Recorded</th>
                      <th scope="col">Event</th>
                      <th scope="col">Status</th>
                      <th scope="col">Campaign</th>
                      <th scope="col">Session</th>
                      <th scope="col">Transaction</th>
                      <th scope="col" class="num">Sale</th>
                      {me.kind !== 'advertiser' && <th scope="col" class="num">Payout</th>}
                      {me.kind !== 'publisher' && <th scope="col" class="num">Revenue</th>}
                      {decides && <th scope="col">Decide</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {p.data.map((c) => (
                      <tr key={c.id}>
                        <td>{dateTime(c.createdAt)}</td>
                        <td>{c.event}</td>
                        <td data-testid={`conversion-status-${c.id}`}>
                          {c.status}
                          {c.statusReason ? ` (${c.statusReason})` : ''}
                        </td>
                        <td>{c.campaignId}</td>
                        <td>
                          <a href={`${BASE}/sessions/${encodeURIComponent(c.sessionId)}`}>{c.sessionId}</a>
                        </td>
                        <td>{c.txid ?? '—'}</td>
                        <td class="num">{amount(c.amountMinor, c.amountCurrency)}</td>
                        {me.kind !== 'advertiser' && <td class="num">{amount(c.payoutMinor, c.currency)}</td>}
                        {me.kind !== 'publisher' && <td class="num">{amount(c.revenueMinor, c.currency)}</td>}
                        {decides && <td>{c.status === 'pending' ? <Decide conversion={c} onDone={reload} /> : '—'}</td>}
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
