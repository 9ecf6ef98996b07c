import { baselineApp, serve } from './baseline-http';

// Baseline (a): the floor of this stack. Express answers the tracked link with a fixed 302 and
// does nothing else: no lookup, no enrichment, no write.

const LANDING = 'https://shop.example/landing?cid=0';

const app = baselineApp();
app.get('/c/:campaignId', (_req, res) => {
  res.writeHead(302, { Location: LANDING, 'Cache-Control': 'no-store' });
  res.end();
});

serve(app);
