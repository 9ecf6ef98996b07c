import { z } from 'zod';
import { CLICK_MACROS, CONVERSION_MACROS, MACRO_RE, fillUrl } from '../../domain/macros';
import { isCurrency } from '../../domain/money';
import type { OutboundPolicy } from '../../outbound/address-policy';
import { ID_RE } from '../http-error';

type Json = Record<string, unknown>;

/**
 * What the OpenAPI document shows for a zod schema whose own JSON Schema would be looser than what
 * the server accepts (a refinement, a transform's input). openapi.ts puts it in place of zod's.
 */
export const documentedAs = new WeakMap<z.ZodType, Json | (() => Json)>();
export function documented<T extends z.ZodType>(schema: T, json: Json | (() => Json)): T {
  documentedAs.set(schema, json);
  return schema;
}

/**
 * A rule the document cannot state (a record that must exist, a time in the future, two fields
 * that must agree): a zod issue with this flag answers 422 instead of 400 (validation.ts).
 */
export const UNPROCESSABLE = { unprocessable: true } as const;

/** Free text of at most `max` characters, counted as JSON Schema counts them (code points, not UTF-16 units). */
export const textSchema = (max: number, min = 0) =>
  documented(
    z
      .string()
      .min(min, min === 1 ? 'must not be empty' : `must be at least ${min} characters`)
      .refine((s) => s.length <= max || [...s].length <= max, `must be at most ${max} characters`),
    { type: 'string', maxLength: max, ...(min > 0 ? { minLength: min } : {}) },
  );

export const idSchema = z.string().regex(ID_RE, 'must be 1 to 64 letters, digits, _ or -');
export const nameSchema = documented(
  z.string().trim().min(1, 'must not be empty').refine((s) => [...s].length <= 200, 'must be at most 200 characters'),
  // The server trims: at least one character that is not white space (JavaScript's trim also drops U+FEFF).
  { type: 'string', maxLength: 200, pattern: '[^\\s\\ufeff]' },
);
export const currencySchema = documented(z.string().refine(isCurrency, 'must be an ISO 4217 currency code such as EUR'), () => ({
  type: 'string',
  enum: Intl.supportedValuesOf('currency').filter(isCurrency),
}));
export const countrySchema = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code such as FR');


/**
 * Why a URL template is unusable, or null. It must be an absolute http(s) URL of the documented
 * grammar (urlSyntaxProblem), with no macro in its scheme, host or port (a macro value must never
 * choose where a request goes), and use only known macros (a misspelt one would silently become
 * empty). With an outbound policy (URLs the worker requests), its host must be one the policy lets
 * the worker reach.
 */
export function urlTemplateProblem(template: string, kind: 'landing' | 'postback', outbound?: OutboundPolicy): string | null {
  const syntax = urlSyntaxProblem(template, true);
  if (syntax) return syntax;
  const empty = fillUrl(template, {});
  if (!empty.ok) return empty.reason;
  const names = [...template.matchAll(MACRO_RE)].map((m) => m[1]!);
  const known = new Set(kind === 'landing' ? CLICK_MACROS : [...CLICK_MACROS, ...CONVERSION_MACROS]);
  const unknown = names.filter((n) => !known.has(n) && !/^p\.[A-Za-z0-9_.-]+$/.test(n));
  if (unknown.length > 0) {
    return `unknown macro ${unknown.map((n) => `{${n}}`).join(', ')}; known: ${[...known].map((n) => `{${n}}`).join(' ')} and {p.NAME}`;
  }
  const refused = outbound?.urlProblem(new URL(empty.url));
  if (refused) return `the URL must reach the public internet: ${refused}`;
  return null;
}

// One grammar for the URLs the server accepts and the ones the OpenAPI document promises, so that
// the two cannot drift (schemathesis sends what the document refuses, and fails the run when the
// server accepts it): http(s), a host, an optional port, then printable ASCII but braces, and
// `{macro}`s that do not touch a `.` or `%` (an empty value there could make a dot segment). A host
// is a DNS name whose last label starts with a letter (a last label of digits makes WHATWG URL read
// an IPv4 address), a dotted-decimal IPv4 address or a bracketed IPv6 one.
// The document leaves out what the server still accepts: IDNA `xn--` labels (only a URL parser can
// check their punycode) and IPv6 literals; for URLs the worker requests, also IPv4 literals (their
// refusal depends on the address) and the names the operator allows with OUTBOUND_ALLOW_*. What the
// outbound policy refuses answers 400 with the reason.
const anyCase = (word: string) => word.replace(/[a-z]/g, (c) => `[${c.toUpperCase()}${c}]`);
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const LAST = '[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const NOT_IDNA = `(?!${anyCase('xn')}--)`;
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4 = `(?:${OCTET}\\.){3}${OCTET}`;
const IPV6 = '\\[[0-9A-Fa-f:.]+\\]';
const INTERNAL = ['localhost', 'local', 'localdomain', 'internal', 'intranet', 'lan', 'home\\.arpa', 'corp'].map(anyCase).join('|');
const HOSTS = {
  server: `(?:${LABEL}\\.)*${LAST}|${IPV4}|${IPV6}`,
  documented: `(?:${NOT_IDNA}${LABEL}\\.)*${NOT_IDNA}${LAST}|${IPV4}`,
  /** What the outbound policy lets through by default: a dotted name, not localhost nor an internal suffix. */
  public: `(?!(?:[^/?#:]*\\.)?(?:${INTERNAL})(?:[:/?#]|$))(?:${NOT_IDNA}${LABEL}\\.)+${NOT_IDNA}${LAST}`,
};
const PORT = '(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?';
const PLAIN = "[A-Za-z0-9!$&'()*+,;=:@/?#._~%-]";
const MACRO_NAME = '[A-Za-z0-9_.-]+';
const P_MACRO = 'p\\.[A-Za-z0-9_.-]+';
const urlPattern = (host: string, macros: readonly string[] | null) => {
  const macro = macros ? `|(?<![.%])\\{(?:${macros.join('|')})\\}(?![.%])` : '';
  return `^https?://(?:${host})${PORT}(?:[/?#](?:${PLAIN}${macro})*)?$`;
};
const SERVER_URL = { template: new RegExp(urlPattern(HOSTS.server, [MACRO_NAME])), plain: new RegExp(urlPattern(HOSTS.server, null)) };
const HOST_AND_PORT = new RegExp(`^(?:${HOSTS.server})${PORT}$`);

/** Why a URL is outside the grammar above (with `{macro}`s, or none), or null. A URL parser then checks what it lets through. */
export function urlSyntaxProblem(value: string, macros: boolean): string | null {
  if ((macros ? SERVER_URL.template : SERVER_URL.plain).test(value)) return null;
  const start = /^https?:\/\/([^/?#]*)/.exec(value);
  if (!start) return 'must start with http:// or https://';
  if (!HOST_AND_PORT.test(start[1]!)) {
    return `"${start[1]}" is not a host with an optional port: the host must be a DNS name (labels of letters, digits and hyphens joined by dots, the last starting with a letter), an IPv4 address or a bracketed IPv6 address`;
  }
  const banned = 'spaces, control or non-ASCII characters, nor any of " < > [ \\ ] ^ ` |';
  return macros
    ? `after the host there may be no ${banned}; braces only around a {macro}, and a {macro} may not touch a '.' or '%'`
    : `after the host there may be no ${banned}, { or }`;
}

/** A site's address: no macros, no outbound policy (nothing requests it). */
export const siteUrl = documented(
  z
    .string()
    .max(2048)
    .superRefine((v, ctx) => {
      const problem = urlSyntaxProblem(v, false) ?? (URL.canParse(v) ? null : 'is not a valid URL');
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  { type: 'string', maxLength: 2048, pattern: urlPattern(HOSTS.documented, null) },
);

export const urlTemplate = (kind: 'landing' | 'postback', outbound?: OutboundPolicy) =>
  documented(
    z
      .string()
      .max(2048)
      .superRefine((v, ctx) => {
        const problem = urlTemplateProblem(v, kind, outbound);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    {
      type: 'string',
      maxLength: 2048,
      pattern: kind === 'landing' ? urlPattern(HOSTS.documented, [...CLICK_MACROS, P_MACRO]) : urlPattern(HOSTS.public, [...CLICK_MACROS, ...CONVERSION_MACROS, P_MACRO]),
    },
  );

/** The last id of the previous page: sessions', conversions' and deliveries' ids use `.` and `:` too. */
const CURSOR_RE = /^[A-Za-z0-9_.:-]{1,400}$/;

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** The `next_cursor` of the previous page: the page starts after that id. */
  cursor: z.string().regex(CURSOR_RE, 'must be a next_cursor value from a previous page').optional(),
};

/** A query-string list: `a,b` or repeated parameters. */
export const csvList = <T extends z.ZodType<unknown, string>>(item: T) =>
  documented(
    z
      .union([z.string(), z.array(z.string())])
      .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(item).min(1).max(100)),
    // Documented as repeated parameters (`a=x&a=y`); `a=x,y` is accepted too.
    () => ({ type: 'array', minItems: 1, maxItems: 100, items: jsonSchemaOf(item) }),
  );

/** zod's JSON Schema of an input, with the documented overrides applied. */
export function jsonSchemaOf(schema: z.ZodType): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const json = documentedAs.get(ctx.zodSchema as unknown as z.ZodType);
      if (!json) return;
      for (const k of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Json)[k];
      Object.assign(ctx.jsonSchema, typeof json === 'function' ? json() : json);
    },
  }) as Json;
  return rest;
}

/** A response's JSON Schema: a zod schema's (an answer is what a handler built: no transform to undo), or as given. */
export function responseJsonOf(schema: z.ZodType | Json): Json {
  if (!('_zod' in schema)) return schema;
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

export const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');
export const dateQuery = z.iso.datetime({ offset: true }).transform((v) => new Date(v));
