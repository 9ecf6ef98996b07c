import type { ComponentChildren } from 'preact';
import { type Async, Empty, NextPage, Show, TableWrap } from './ui';

/** A column: its header and its cell for a row; `num` aligns it right; `testId` names its cells for the browser tests. */
export interface Column<T> {
  head: string;
  cell: (row: T) => ComponentChildren;
  num?: boolean;
  testId?: (row: T) => string;
}

interface TableProps<T> {
  label: string;
  testId?: string;
  caption?: string;
  /** A column given as false is left out: one this key does not see. */
  columns: readonly (Column<T> | false)[];
  rows: readonly T[];
  rowKey: (row: T) => string | number;
}

export function DataTable<T>({ label, testId, caption, columns, rows, rowKey }: TableProps<T>) {
  const shown = columns.filter((c): c is Column<T> => c !== false);
  return (
    <TableWrap label={label}>
      <table data-testid={testId}>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>
            {shown.map((c) => (
              <th key={c.head} scope="col" class={c.num ? 'num' : undefined}>
                {c.head}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {shown.map((c) => (
                <td key={c.head} class={c.num ? 'num' : undefined} data-testid={c.testId?.(row)}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** One page of a paged list: what to say when it is empty, else its table and a Next page button when the API has more. */
export function PagedTable<T>({ page, what, empty, go, ...table }: Omit<TableProps<T>, 'rows'> & { page: Async<{ data: T[]; next_cursor?: string | null }>; what: string; empty: ComponentChildren; go: (extra: { cursor: string }) => void }) {
  return (
    <Show value={page} what={what}>
      {(p) =>
        p.data.length === 0 ? (
          <Empty>{empty}</Empty>
        ) : (
          <>
            <DataTable {...table} rows={p.data} />
            <NextPage cursor={p.next_cursor} go={go} />
          </>
        )
      }
    </Show>
  );
}
