import path from 'node:path';
import { defineConfig } from 'vite';

// The dashboard is served by clicktrail under /app/ (src/http/dashboard.ts) from dist/web.
export default defineConfig({
  root: __dirname,
  base: '/app/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: path.resolve(__dirname, '..', 'dist', 'web'),
    emptyOutDir: true,
    // No inline scripts: the dashboard's Content-Security-Policy allows scripts from clicktrail only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  logLevel: 'warn',
});
