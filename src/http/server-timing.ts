/**
 * A `Server-Timing` header (W3C Server Timing): where a response's time went, shown by browsers'
 * developer tools and read by the reports bench. Descriptions are the server's own words, never input, with no comma or semicolon (the separators).
 */
export function serverTiming(metrics: readonly { name: string; ms: number; desc?: string }[]): string {
  return metrics.map((m) => `${m.name};dur=${m.ms.toFixed(1)}${m.desc ? `;desc="${m.desc}"` : ''}`).join(', ');
}

/** What `serverTiming` wrote, by metric name (for the bench and the tests; not a general parser). */
export function parseServerTiming(header: string | null): Record<string, { ms: number; desc: string }> {
  return Object.fromEntries(
    (header ?? '').split(', ').map((m) => {
      const [name = '', dur = '', desc = ''] = m.split(';');
      return [name, { ms: Number(dur.replace('dur=', '')), desc: desc.replace(/^desc="|"$/g, '') }];
    }),
  );
}
