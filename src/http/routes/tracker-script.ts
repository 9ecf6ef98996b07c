import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { CONVERSION_PARAM_ALIASES, SESSION_ID_RE } from '../../domain/conversion-params';

// The first-party script for advertisers' pages (docs/tracking.md, "The first-party script").
// On a landing page it keeps the click id from the URL in a cookie and localStorage of the
// advertiser's own site; on the confirmation page `clicktrail('convert', {...})` sends it to the
// pixel endpoint in the query, so attribution needs no third-party cookie. The conversion goes
// through the pixel's own intake and policy. Plain ES5 and no build step: what is below is what
// browsers get.
const SOURCE = String.raw`/* clicktrail first-party script: docs/tracking.md */
(function (w, d) {
  'use strict';
  var KEY = 'ct_click_id';
  var PARAMS = ${JSON.stringify(CONVERSION_PARAM_ALIASES.clickId.aliases)};
  var ID_RE = ${SESSION_ID_RE.toString()};
  var FIELDS = ['campaign', 'event', 'txid', 'amount', 'currency'];
  var script = d.currentScript;
  var base = script && script.src ? script.src.replace(/^(https?:\/\/[^\/]+).*$/, '$1') : '';
  var days = Number(script && script.getAttribute('data-days')) || 30;

  function fromUrl() {
    var q = new URLSearchParams(w.location.search);
    for (var i = 0; i < PARAMS.length; i++) {
      var v = q.get(PARAMS[i]);
      if (v && ID_RE.test(v)) return v.toLowerCase();
    }
    return null;
  }
  function keep(id) {
    d.cookie = KEY + '=' + id + '; Max-Age=' + days * 86400 + '; Path=/; SameSite=Lax' + (w.location.protocol === 'https:' ? '; Secure' : '');
    try { w.localStorage.setItem(KEY, id); } catch (e) { /* storage disabled: the cookie remains */ }
  }
  function kept() {
    var m = d.cookie.match(/(?:^|;\s*)ct_click_id=([^;]+)/);
    if (m && ID_RE.test(m[1])) return m[1];
    try {
      var v = w.localStorage.getItem(KEY);
      if (v && ID_RE.test(v)) return v;
    } catch (e) { /* storage disabled */ }
    return null;
  }
  function convert(o) {
    o = o || {};
    var q = new URLSearchParams();
    var id = o.click_id || kept();
    if (id) q.set('click_id', id);
    for (var i = 0; i < FIELDS.length; i++) {
      if (o[FIELDS[i]] !== undefined && o[FIELDS[i]] !== null) q.set(FIELDS[i], String(o[FIELDS[i]]));
    }
    var img = new Image(1, 1);
    img.src = base + '/px.gif?' + q.toString();
    return img;
  }
  function clicktrail(command, options) {
    if (command === 'convert') return convert(options);
    if (command === 'click_id') return kept();
  }

  var fresh = fromUrl();
  if (fresh) keep(fresh);
  var queued = (w.clicktrail && w.clicktrail.q) || [];
  w.clicktrail = clicktrail;
  for (var i = 0; i < queued.length; i++) clicktrail.apply(null, queued[i]);
})(window, document);
`;

const BODY = Buffer.from(SOURCE, 'utf8');
const ETAG = `"${createHash('sha256').update(BODY).digest('base64url').slice(0, 27)}"`;

/** GET /t.js: the same bytes for everyone, so caches and CDNs may keep it (an hour, then revalidate). */
export function trackerScriptRoute(): RequestHandler {
  return (req, res) => {
    res.set({ 'Cache-Control': 'public, max-age=3600', ETag: ETAG, 'X-Content-Type-Options': 'nosniff' });
    if (req.get('if-none-match') === ETAG) {
      res.status(304).end();
      return;
    }
    res.type('application/javascript; charset=utf-8').send(BODY);
  };
}
