import type { AddressInfo } from 'node:net';
import express from 'express';
import { announceReady, stopOnSignal } from './ready';

// Baseline (a): the floor of this stack. Express answers the tracked link with a fixed 302 and
// does nothing else: no lookup, no enrichment, no write.

const LANDING = 'https://shop.example/landing?cid=0';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('/c/:campaignId', (_req, res) => {
  res.writeHead(302, { Location: LANDING, 'Cache-Control': 'no-store' });
  res.end();
});

const server = app.listen(0, '127.0.0.1', () => {
  announceReady(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
server.keepAliveTimeout = 65_000;
stopOnSignal(() => new Promise((r) => server.close(() => r())));
