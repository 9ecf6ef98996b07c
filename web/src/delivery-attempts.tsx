import type { Schemas } from './api';
import { DataTable } from './data-table';
import { dateTime } from './format';

export type Delivery = Schemas['Delivery'];

/** Every attempt of one delivery: the session page lists them, the deliveries page opens them per row. */
export function DeliveryAttempts({ delivery }: { delivery: Delivery }) {
  return (
    <DataTable
      label={`Attempts of ${delivery.deliveryId}`}
      rows={delivery.attempts}
      rowKey={(a) => a.attempt}
      columns={[
        { head: 'Attempt', cell: (a) => a.attempt },
        { head: 'When', cell: (a) => dateTime(a.at) },
        { head: 'HTTP status', cell: (a) => a.statusCode ?? '—' },
        { head: 'Latency', cell: (a) => (a.latencyMs === null ? '—' : `${a.latencyMs} ms`) },
        { head: 'Outcome', cell: (a) => a.outcome },
        { head: 'Error', cell: (a) => a.error ?? '—' },
      ]}
    />
  );
}
