import type { RequestHandler } from 'express';
import { redactParams } from '../redact';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The demo advertiser's site, served locally so the quick start works offline: a landing page
 * that shows the click id it received, and a confirmation page that fires the conversion pixel.
 */
export function demoLandingRoute(): RequestHandler {
  return (req, res) => {
    const clickId = typeof req.query.click_id === 'string' ? req.query.click_id : '';
    const campaign = typeof req.query.campaign === 'string' ? req.query.campaign : '';
    const conversion = { campaign, event: 'sale', txid: `demo-${Date.now()}`, amount: '49.90', currency: 'EUR' };
    const confirmed = req.path.endsWith('/thanks');
    // The first-party script keeps the click id on the landing page and sends the sale from the
    // confirmation page, as on a real advertiser's site (docs/tracking.md).
    res.type('text/html').set('Cache-Control', 'no-store').send(`<!doctype html>
<meta charset="utf-8"><title>Demo advertiser</title>
<script src="/t.js"></script>
<h1>${confirmed ? 'Thank you for your order' : 'Demo advertiser landing page'}</h1>
<p>Click id received: <code id="click-id">${escape(clickId)}</code></p>
${confirmed ? `<script>clicktrail('convert', ${JSON.stringify(conversion).replace(/</g, '\\u003c')});</script>` : `<p><a href="/demo/thanks?campaign=${encodeURIComponent(campaign)}">Buy (sends the conversion through /t.js)</a></p>`}
`);
  };
}

/** Stands in for the demo publisher's and provider's postback servers: logs what it receives. */
export function demoSinkRoute(log: { info(o: object, m: string): void }): RequestHandler {
  return (req, res) => {
    log.info({ who: req.params.who, query: redactParams(req.query) }, 'demo postback received');
    res.type('text/plain').send('ok\n');
  };
}
