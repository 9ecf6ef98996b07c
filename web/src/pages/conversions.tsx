import { useState } from 'preact/hooks';
import { formatMinor, isCurrency } from '../../../src/domain/money';
import { request, type Me } from '../api';
import { dateTime, dayEnd, dayStart } from '../format';
import { BASE, navigate } from '../router';
import { Empty, Show, TableWrap, useAsync, NextPage } from '../ui';
import { Decide } from './session';

// Conversions across sessions, with filters; a pending one can be approved or rejected here by
// its advertiser or an operator (POST /conversions/{id}/status), as on its session's page.

const FILTERS = ['campaign', 'publisher', 'advertiser', 'event', 'status', 'from', 'to'] as const;


const amount = (minor: number | null | undefined, currency: string | null | undefined) =>
  minor === undefined || minor === null || !currency || !isCurrency(currency) ? '—' : `${formatMinor(minor, currency)} ${currency}`;

export function Conversions({ me, params }: { me: Me; params: URLSearchParams }) {
  const cursor = params.get('cursor') ?? undefined;
  const [page, reload] = useAsync(() => {
    const q = Object.fromEntries(FILTERS.filter((f) => f !== 'from' && f !== 'to' && params.get(f)).map((f) => [f, params.get(f)!]));
    return request('get', '/conversions', { query: { ...q, from: dayStart(params.get('from')), to: dayEnd(params.get('to')), cursor, limit: 50 } }) ;
  }, params.toString());
  const [form, setForm] = useState<Record<string, string>>(Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])));
  const go = (extra: Record<string, string> = {}) => {
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...form, ...extra })) if (v) next.set(k, v);
    navigate(`/conversions?${next.toString()}`);
  };
  const input = (f: (typeof FILTERS)[number], label: string, type: 'text' | 'date' = 'text') => (
    <label key={f}>
      {label}
      <input type={type as 'text'} value={form[f]} onInput={(e) => setForm({ ...form, [f]: (e.target as HTMLInputElement).value })} />
    </label>
  );
  const decides = me.kind !== 'publisher';
  return (
    <section aria-labelledby="conversions-title">
      <h1 id="conversions-title">Conversions</h1>
      <form
        class="card filters"
        onSubmit={(e) => {
          e.preventDefault();
          go();
        }}
      >
        <div class="fields">
          {input('campaign', 'Campaign id')}
          {me.kind !== 'publisher' && input('publisher', 'Publisher id')}
          {me.kind === 'operator' && input('advertiser', 'Advertiser id')}
          {input('event', 'Event')}
          <label>
            Status
            <select value={form.status} onChange={(e) => setForm({ ...form, status: (e.target as HTMLSelectElement).value })}>
              <option value="">Any</option>
              <option value="pending">Pending</option>
              <option value="approved">Approved</option>
              <option value="rejected">Rejected</option>
            </select>
          </label>
          {input('from', 'Recorded from', 'date')}
          {input('to', 'Recorded before', 'date')}
        </div>
        <button type="submit">Filter</button>
      </form>
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
              <NextPage cursor={p.next_cursor} go={go} />
            </>
          )
        }
      </Show>
    </section>
  );
}
