/**
 * A URL without its query and fragment, for logs and Temporal failure messages: provider and
 * publisher URLs often carry a secret in the query, and Temporal history keeps messages forever.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url.split(/[?#]/)[0]!.slice(0, 200);
  }
}
