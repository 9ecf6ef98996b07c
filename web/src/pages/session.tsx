import { useState } from 'preact/hooks';
import { ApiError, api, request, type Me, type ResponseOf, type Schemas } from '../api';
import { DataTable } from '../data-table';
import { DeliveryAttempts } from '../delivery-attempts';
import { conversionStatus, dateTime, sessionStatus } from '../format';
import { ErrorMessage, Empty, Show, useAsync } from '../ui';

export type Conversion = Schemas['Conversion'];

export function SessionPage({ me, id }: { me: Me; id: string }) {
  const [session, reload] = useAsync(() => request('get', '/sessions/{id}', { params: { id } }), id);
  const [deliveries] = useAsync<ResponseOf<'/deliveries'> | null>(async () => (me.kind === 'advertiser' ? null : request('get', '/deliveries', { query: { session: id, limit: 200 } })), id);
  return (
    <section aria-labelledby="session-title">
      <h1 id="session-title">Session {id}</h1>
      <Show value={session} what="the session">
        {(s) => (
          <>
            {me.kind === 'operator' && (
              <p>
                <a href={`${me.temporal_ui_url}/namespaces/${encodeURIComponent(me.temporal_namespace)}/workflows/${encodeURIComponent(s.id)}`} target="_blank" rel="noreferrer">
                  Open this session's workflow in the Temporal UI
                </a>{' '}
                (workflow {s.workflowState})
              </p>
            )}
            <section class="card" aria-labelledby="stored-title">
              <h2 id="stored-title">Stored fields</h2>
              <dl class="fields-list">
                {(
                  [
                    ['Status', sessionStatus(s)],
                    ['Clicked', dateTime(s.createdAt)],
                    ['Window closes', dateTime(s.expiresAt)],
                    ['Campaign', s.campaignId],
                    ['Advertiser', s.advertiserId],
                    ['Publisher', s.publisherId],
                    ['Asset', s.assetId ?? '—'],
                    ['Support', s.supportId ?? '—'],
                    ['Country', s.country ?? '—'],
                    ['Device', [s.device?.type, s.device?.os, s.device?.browser].filter(Boolean).join(', ') || '—'],
                    ['IP', s.ip ?? '—'],
                    ['Referrer', s.referrer ?? '—'],
                    ['Link parameters', Object.entries(s.publisherData ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '—'],
                  ] as const
                ).map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </div>
                ))}
              </dl>
            </section>
            <section class="card" aria-labelledby="conversions-title">
              <h2 id="conversions-title">Conversions</h2>
              {s.conversions.length === 0 ? (
                <Empty>No conversion on this session yet.</Empty>
              ) : (
                <DataTable
                  label="Conversions table"
                  testId="conversions-table"
                  rows={s.conversions}
                  rowKey={(c) => c.id}
                  columns={[
                    { head: 'Conversion', cell: (c) => c.id },
                    { head: 'Event', cell: (c) => c.event },
                    { head: 'Status', cell: conversionStatus, testId: (c) => `status-${c.id}` },
                    { head: 'Transaction', cell: (c) => c.txid ?? '—' },
                    { head: 'When', cell: (c) => dateTime(c.createdAt) },
                    me.kind !== 'publisher' && { head: 'Decision', cell: (c) => (c.status === 'pending' ? <Decide conversion={c} onDone={reload} /> : '—') },
                  ]}
                />
              )}
              {(s.workflow?.ignored?.length ?? 0) > 0 && (
                <>
                  <h3>Ignored signals</h3>
                  <ul>
                    {s.workflow!.ignored!.map((g) => (
                      <li key={g.requestId}>
                        {new Date(g.atMs).toLocaleString()}: {g.event}: {g.reason}
                      </li>
                    ))}
                  </ul>
                </>
              )}
            </section>
          </>
        )}
      </Show>
      {me.kind !== 'advertiser' && (
        <section class="card" aria-labelledby="deliveries-title">
          <h2 id="deliveries-title">Deliveries</h2>
          <Show value={deliveries} what="deliveries">
            {(d) =>
              !d || d.data.length === 0 ? (
                <Empty>No postback sent for this session.</Empty>
              ) : (
                <>
                  {d.data.map((del) => (
                    <div key={del.deliveryId} class="delivery">
                      <h3>
                        {del.target} {del.targetId}: {del.outcome}
                      </h3>
                      <p class="url">{del.url}</p>
                      <DeliveryAttempts delivery={del} />
                    </div>
                  ))}
                </>
              )
            }
          </Show>
        </section>
      )}
    </section>
  );
}

/** Approve or reject a pending conversion; the workflow applies it, so the page reloads until the status shows. */
export function Decide({ conversion, onDone }: { conversion: Conversion; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [state, setState] = useState<{ busy: boolean; error: unknown; sent: string | null }>({ busy: false, error: null, sent: null });
  const decide = async (status: 'approved' | 'rejected') => {
    setState({ busy: true, error: null, sent: null });
    try {
      await api(`/conversions/${encodeURIComponent(conversion.id)}/status`, { method: 'POST', body: { status, reason } });
      setState({ busy: true, error: null, sent: status });
      for (let i = 0; i < 40; i++) {
        const c = await request('get', '/conversions/{id}', { params: { id: conversion.id } });
        if (c.status === status) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      onDone();
    } catch (error) {
      setState({ busy: false, error, sent: null });
    }
  };
  const inputId = `reason-${conversion.id}`;
  return (
    <form class="decide" onSubmit={(e) => e.preventDefault()}>
      <label for={inputId}>Reason</label>
      <input id={inputId} type="text" value={reason} required aria-invalid={state.error instanceof ApiError && state.error.fields.some((f) => f.path === 'reason')} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      <button type="button" disabled={state.busy} onClick={() => decide('approved')}>
        Approve
      </button>
      <button type="button" disabled={state.busy} onClick={() => decide('rejected')}>
        Reject
      </button>
      {state.sent && (
        <span role="status">
          {state.sent === 'approved' ? 'Approval' : 'Rejection'} sent; waiting for it to apply…
        </span>
      )}
      {state.error !== null && <ErrorMessage error={state.error} />}
    </form>
  );
}
