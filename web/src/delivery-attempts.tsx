import type { Schemas } from './api';
import { dateTime } from './format';
import { TableWrap } from './ui';

export type Delivery = Schemas['Delivery'];
export type DeliveryAttempt = Delivery['attempts'][number];

/** Every attempt of one delivery: the session page lists them, the deliveries page opens them per row. */
export function DeliveryAttempts({ delivery }: { delivery: Delivery }) {
  return (
    <TableWrap label={`Attempts of ${delivery.deliveryId}`}>
      <table>
        <thead>
          <tr>
            <th scope="col">Attempt</th>
            <th scope="col">When</th>
            <th scope="col">HTTP status</th>
            <th scope="col">Latency</th>
            <th scope="col">Outcome</th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {delivery.attempts.map((a) => (
            <tr key={a.attempt}>
              <td>{a.attempt}</td>
              <td>{dateTime(a.at)}</td>
              <td>{a.statusCode ?? '—'}</td>
              <td>{a.latencyMs === null ? '—' : `${a.latencyMs} ms`}</td>
              <td>{a.outcome}</td>
              <td>{a.error ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}
