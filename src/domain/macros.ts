// Fills `{name}` macros in landing and postback URL templates. Deterministic: the same template
// and values always give the same result. A macro value can never choose or change the target host.
import { formatMinor } from './money';

export type MacroValues = Readonly<Record<string, string | number | null | undefined>>;

export type FillResult = { ok: true; url: string } | { ok: false; reason: string };

export type SessionMacroSource = {
  sessionId: string;
  campaignId: string;
  advertiserId: string;
  publisherId: string;
  assetId?: string | null;
  supportId?: string | null;
  country?: string | null;
  device?: { type: string } | null;
  publisherData?: Readonly<Record<string, string>>;
};

export type ConversionMacroSource = {
  event: string;
  txid?: string | null;
  amountMinor?: number | null;
  /** The currency the amount was reported in (it may differ from the event's); default: currency. */
  amountCurrency?: string | null;
  payoutMinor: number;
  currency: string;
  status: string;
  conversionId: string;
};

export const MACRO_RE = /\{([A-Za-z0-9_.-]+)\}/g;

const SUB_MACROS = Array.from({ length: 10 }, (_, i) => `sub${i + 1}`);
/** The macros a landing URL may use (besides `{p.NAME}`); test/unit/macro-names.test.ts keeps them in step with the fillers below. */
export const CLICK_MACROS: readonly string[] = [
  'click_id', 'session_id', 'campaign_id', 'advertiser_id', 'publisher_id', 'asset_id', 'support_id', 'country', 'device',
  ...SUB_MACROS,
];
/** What postback and notification URLs may use on top of the click macros. */
export const CONVERSION_MACROS: readonly string[] = ['event', 'txid', 'amount', 'amount_currency', 'payout', 'currency', 'status', 'conversion_id'];

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function tryParse(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

function encodeValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  // encodeURIComponent throws on lone surrogates: replace them, as String.prototype.toWellFormed would.
  return encodeURIComponent(String(value).replace(LONE_SURROGATE_RE, '\uFFFD'));
}

type TemplateShape =
  | { ok: true; template: string; protocol: string; host: string; origin: string; segments: number | null }
  | { ok: false; reason: string };

// What fillUrl checks of a template depends on the template alone, and the click path fills the
// same few landing templates on every click: two of its three URL parses are done once per template.
const shapes = new Map<string, TemplateShape>();
const MAX_SHAPES = 1_000;

function shapeOf(rawTemplate: string): TemplateShape {
  let shape = shapes.get(rawTemplate);
  if (!shape) {
    shape = analyse(rawTemplate);
    if (shapes.size >= MAX_SHAPES) shapes.clear();
    shapes.set(rawTemplate, shape);
  }
  return shape;
}

function analyse(rawTemplate: string): TemplateShape {
  const template = rawTemplate.trim();
  if (template === '') return { ok: false, reason: 'URL template is empty' };
  if (CONTROL_RE.test(template)) return { ok: false, reason: 'URL template contains control characters' };
  const skeleton = tryParse(template.replace(MACRO_RE, ''));
  if (!skeleton) return { ok: false, reason: 'URL template is not an absolute URL' };
  if (skeleton.protocol !== 'http:' && skeleton.protocol !== 'https:') {
    return { ok: false, reason: `URL template must use http or https, not ${skeleton.protocol}` };
  }
  // A letter where a host label may stand, a digit where only a port may: with neither parsing, no path check.
  const neutral = tryParse(template.replace(MACRO_RE, 'x')) ?? tryParse(template.replace(MACRO_RE, '1'));
  const segments = neutral ? neutral.pathname.split('/').length : null;
  return { ok: true, template, protocol: skeleton.protocol, host: skeleton.host, origin: skeleton.origin, segments };
}

/**
 * Replaces every `{name}` macro with the URL-encoded value (missing, null or undefined → '').
 * The template with all macros emptied must be an absolute http(s) URL, and the filled URL must
 * keep its protocol, host and port; otherwise the result is `ok: false`. The filled string is
 * returned as written (not re-serialised, only trimmed), so the encoding of the template is preserved.
 */
export function fillUrl(rawTemplate: string, values: MacroValues): FillResult {
  if (typeof rawTemplate !== 'string') return { ok: false, reason: 'URL template is not a string' };
  const shape = shapeOf(rawTemplate);
  if (!shape.ok) return shape;
  const url = shape.template.replace(MACRO_RE, (_match, name: string) =>
    Object.hasOwn(values, name) ? encodeValue(values[name]) : '',
  );
  const filled = tryParse(url);
  if (!filled) return { ok: false, reason: 'filled URL is not a valid URL' };
  if (filled.protocol !== shape.protocol || filled.host !== shape.host) {
    return { ok: false, reason: `macro values change the URL's origin from ${shape.origin} to ${filled.origin}` };
  }
  // A value `.` or `..` in the path (or one completing `%2` into `%2e`, which URL parsers also read
  // as a dot) would climb the template's path. Values cannot add a `/`, so with every value
  // replaced by a plain letter the path keeps as many segments unless a value made a dot segment.
  if (shape.segments !== null && shape.segments !== filled.pathname.split('/').length) {
    return { ok: false, reason: "macro values make a '.' or '..' path segment, which would move the request to another path" };
  }
  return { ok: true, url };
}

/** Macro values known at click time: landing URLs and the click part of postbacks. */
export function clickMacroValues(s: SessionMacroSource): Record<string, string> {
  const pd = s.publisherData ?? {};
  // One object literal, then keys added: Object.fromEntries over a list cost the click path 8×.
  const values: Record<string, string> = {
    click_id: s.sessionId,
    session_id: s.sessionId,
    campaign_id: s.campaignId,
    advertiser_id: s.advertiserId,
    publisher_id: s.publisherId,
    asset_id: s.assetId ?? '',
    support_id: s.supportId ?? '',
    country: s.country ?? '',
    device: s.device?.type ?? '',
  };
  for (const key of SUB_MACROS) values[key] = Object.hasOwn(pd, key) ? (pd[key] ?? '') : '';
  for (const key of Object.keys(pd)) {
    const value: unknown = pd[key];
    values[`p.${key}`] = typeof value === 'string' ? value : String(value);
  }
  return values;
}

/** Macro values for outbound postbacks: the click values plus the conversion's. */
export function conversionMacroValues(s: SessionMacroSource, c: ConversionMacroSource): Record<string, string> {
  return {
    ...clickMacroValues(s),
    event: c.event,
    txid: c.txid ?? '',
    amount: c.amountMinor === null || c.amountMinor === undefined ? '' : formatMinor(c.amountMinor, c.amountCurrency ?? c.currency),
    amount_currency: c.amountMinor === null || c.amountMinor === undefined ? '' : (c.amountCurrency ?? c.currency),
    payout: formatMinor(c.payoutMinor, c.currency),
    currency: c.currency,
    status: c.status,
    conversion_id: c.conversionId,
  };
}
