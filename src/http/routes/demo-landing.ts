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
    const pixel = `/px.gif?campaign=${encodeURIComponent(campaign)}&event=sale&amount=49.90&currency=EUR&txid=demo-${Date.now()}`;
    const confirmed = req.path.endsWith('/thanks');
    res.type('text/html').set('Cache-Control', 'no-store').send(`<!doctype html>
<meta charset="utf-8"><title>Demo advertiser</title>
<h1>${confirmed ? 'Thank you for your order' : 'Demo advertiser landing page'}</h1>
<p>Click id received: <code id="click-id">${escape(clickId)}</code></p>
${confirmed ? `<img src="${escape(pixel)}" width="1" height="1" alt="">` : `<p><a href="/demo/thanks?campaign=${encodeURIComponent(campaign)}">Buy (fires the conversion pixel)</a></p>`}
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
