import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';

export const DASHBOARD_PREFIX = '/app';

/** Where `npm run build` (vite, web/vite.config.ts) writes the dashboard: dist/web at the repository root. */
export const DASHBOARD_DIR = path.resolve(__dirname, '..', '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []), 'dist', 'web');

// Scripts and styles come only from clicktrail itself; uPlot sets inline style attributes.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>clicktrail dashboard not built</title></head>
<body><main><h1>The dashboard has not been built</h1><p>Run <code>npm run build</code> (or <code>npm start</code>, which builds it), then reload this page.</p></main></body></html>`;

/** The single-page dashboard under /app/: built assets, and index.html for every page path the app routes itself. */
export function dashboardRouter(dir = DASHBOARD_DIR): Router {
  const router = Router({ strict: true });
  router.use((_req, res, next) => {
    res.set({ 'Content-Security-Policy': CSP, 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'same-origin' });
    next();
  });
  // File names under assets/ carry a content hash: they never change.
  router.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '365d', fallthrough: false, index: false }));
  router.get(/.*/, (req, res) => {
    if (req.originalUrl.split('?')[0] === DASHBOARD_PREFIX) {
      res.redirect(301, `${DASHBOARD_PREFIX}/`);
      return;
    }
    const index = path.join(dir, 'index.html');
    if (!existsSync(index)) {
      res.status(503).type('html').set('Retry-After', '60').send(NOT_BUILT);
      return;
    }
    res.set('Cache-Control', 'no-cache').sendFile(index);
  });
  return router;
}
