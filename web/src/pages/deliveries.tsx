import { useState } from 'preact/hooks';
import { api, request, type Me, type ResponseOf } from '../api';
import { dateTime } from '../format';
import { Filters, SelectFilter, TextFilter, useFilterForm } from '../filter-form';
import { PagedTable } from '../data-table';
import { ErrorMessage, SessionLink, useAsync } from '../ui';
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
      <PagedTable
        page={page}
        what="deliveries"
        empty="No delivery matches."
        go={form.go}
        label="Deliveries table"
        testId="deliveries-table"
        rowKey={(d) => d.deliveryId}
        columns={[
          { head: 'Delivery', cell: (d) => d.deliveryId },
          { head: 'To', cell: (d) => `${d.target} ${d.targetId}` },
          { head: 'Outcome', cell: (d) => d.outcome },
          { head: 'Attempts', num: true, cell: (d) => d.attempts.length },
          { head: 'Last attempt', cell: (d) => <LastAttempt delivery={d} /> },
          { head: 'Session', cell: (d) => <SessionLink id={d.sessionId} /> },
          { head: 'Re-send', cell: (d) => (d.outcome === 'delivered' ? '—' : <Resend delivery={d} />) },
        ]}
      />
    </section>
  );
}

/** The last attempt in a line; opened, every attempt. */
function LastAttempt({ delivery }: { delivery: Delivery }) {
  const last = delivery.attempts[delivery.attempts.length - 1];
  return (
    <details>
      <summary>{last ? `${dateTime(last.at)}: ${last.statusCode ?? ''} ${last.error ?? ''}` : '—'}</summary>
      <DeliveryAttempts delivery={delivery} />
    </details>
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
