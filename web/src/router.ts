import { useEffect, useState } from 'preact/hooks';

// Pages are paths under /app/ and their state is in the query string, so any view can be shared as a URL.

export const BASE = '/app';

export interface Location {
  path: string;
  params: URLSearchParams;
}

function read(): Location {
  const rest = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : '/';
  return { path: rest || '/', params: new URLSearchParams(window.location.search) };
}

export function navigate(to: string, replace = false): void {
  const url = to.startsWith(BASE) ? to : `${BASE}${to}`;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event('popstate'));
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const update = () => setLoc(read());
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return loc;
}

/** Same-origin links under /app/ move without reloading; modified clicks (new tab) are left to the browser. */
export function onLinkClick(e: MouseEvent): void {
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = a.getAttribute('href');
  if (!href || !href.startsWith(`${BASE}/`) || a.hasAttribute('download') || a.target) return;
  e.preventDefault();
  navigate(href);
}
