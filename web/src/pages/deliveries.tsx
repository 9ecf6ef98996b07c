import { useState } from 'preact/hooks';
import { api, request, type Me, type ResponseOf } from '../api';
import { dateTime } from '../format';
import { Filters, SelectFilter, TextFilter, useFilterForm } from '../filter-form';
import { BASE } from '../router';
import { Empty, ErrorMessage, Show, TableWrap, useAsync, NextPage } from '../ui';
import { type Delivery, DeliveryAttempts } from '../delivery-attempts';

const OUTCOMES = [
  ['given_up', 'Given up'],
  ['failed', 'With a failed attempt'],
  ['delivered', 'Delivered'],
] as const;

/** Outbound postbacks that failed or were given up, with a re-send for each. */
export function Deliveries({ params }: { me: Me; params: URLSearchParams }) {
  const form = useFilterForm('/deliveries', params, ['outcome', 'session'], { outcome: 'given_up' });
  const [page] = useAsync(() => api<ResponseOf<'/deliveries'>>('/deliveries', { query: { ...form.query, limit: 50 } }), params.toString());
  return (
    <section aria-labelledby="deliveries-page-title">
      <h1 id="deliveries-page-title">Deliveries</h1>
      <Filters form={form}>
        <SelectFilter form={form} name="outcome" label="Outcome" options={OUTCOMES} />
        <TextFilter form={form} name="session" label="Session id" />
      </Filters>
      <Show value={page} what="deliveries">
        {(p) =>
          p.data.length === 0 ? (
            <Empty>No delivery matches.</Empty>
          ) : (
            <>
              <TableWrap label="Deliveries table">
                <table data-testid="deliveries-table">
                  <thead>
                    <tr>
                      <th scope="col">Delivery</th>
                      <th scope="col">To</th>
                      <th scope="col">Outcome</th>
                      <th scope="col">Attempts</th>
                      <th scope="col">Last attempt</th>
                      <th scope="col">Session</th>
                      <th scope="col">Re-send</th>
                    </tr>
                  </thead>
                  <tbody>
                    {p.data.map((d) => {
                      const last = d.attempts[d.attempts.length - 1];
                      return (
                        <tr key={d.deliveryId}>
                          <td>{d.deliveryId}</td>
                          <td>
                            {d.target} {d.targetId}
                          </td>
                          <td>{d.outcome}</td>
                          <td class="num">{d.attempts.length}</td>
                          <td>
                            <details>
                              <summary>{last ? `${dateTime(last.at)}: ${last.statusCode ?? ''} ${last.error ?? ''}` : '—'}</summary>
                              <DeliveryAttempts delivery={d} />
                            </details>
                          </td>
                          <td>
                            <a href={`${BASE}/sessions/${encodeURIComponent(d.sessionId)}`}>{d.sessionId}</a>
                          </td>
                          <td>{d.outcome === 'delivered' ? '—' : <Resend delivery={d} />}</td>
                        </tr>
                      );
                    })}
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

function Resend({ delivery }: { delivery: Delivery }) {
  const [state, setState] = useState<{ busy: boolean; error: unknown; sentAs: string | null }>({ busy: false, error: null, sentAs: null });
  if (state.sentAs) return <span role="status">Re-sent as {state.sentAs}</span>;
  return (
    <>
      <button
        type="button"
        disabled={state.busy}
        aria-label={`Re-send ${delivery.deliveryId}`}
        onClick={async () => {
          setState({ busy: true, error: null, sentAs: null });
          try {
            const r = await request('post', '/deliveries/{deliveryId}/resend', { params: { deliveryId: delivery.deliveryId } });
            setState({ busy: false, error: null, sentAs: r.deliveryId });
          } catch (error) {
            setState({ busy: false, error, sentAs: null });
          }
        }}
      >
        Re-send
      </button>
      {state.error !== null && <ErrorMessage error={state.error} />}
    </>
  );
}
