import { z } from 'zod';
import { CLICK_MACROS, CONVERSION_MACROS, MACRO_RE, fillUrl } from '../../domain/macros';
import { isCurrency } from '../../domain/money';
import type { OutboundPolicy } from '../../outbound/address-policy';
import { ID_RE } from '../http-error';

export const idSchema = z.string().regex(ID_RE, 'must be 1 to 64 letters, digits, _ or -');
export const nameSchema = z.string().trim().min(1, 'must not be empty').max(200);
export const currencySchema = z.string().refine(isCurrency, 'must be an ISO 4217 currency code such as EUR');
export const countrySchema = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code such as FR');


/**
 * Why a URL template is unusable, or null. It must be an absolute http(s) URL with no macro in
 * its scheme, host or port (a macro value must never choose where a request goes), and use only
 * known macros (a misspelt one would silently become empty). With an outbound policy (URLs the
 * worker requests), its host must be one the policy lets the worker reach.
 */
export function urlTemplateProblem(template: string, kind: 'landing' | 'postback', outbound?: OutboundPolicy): string | null {
  const empty = fillUrl(template, {});
  if (!empty.ok) return empty.reason;
  const names = [...template.matchAll(MACRO_RE)].map((m) => m[1]!);
  const known = new Set(kind === 'landing' ? CLICK_MACROS : [...CLICK_MACROS, ...CONVERSION_MACROS]);
  const unknown = names.filter((n) => !known.has(n) && !/^p\.[A-Za-z0-9_.-]+$/.test(n));
  if (unknown.length > 0) {
    return `unknown macro ${unknown.map((n) => `{${n}}`).join(', ')}; known: ${[...known].map((n) => `{${n}}`).join(' ')} and {p.NAME}`;
  }
  const probe = fillUrl(template, Object.fromEntries(names.map((n) => [n, 'macro-probe'])));
  if (!probe.ok) return 'macros may appear in the path, query or fragment only, not in the scheme, host or port';
  const refused = outbound?.urlProblem(new URL(empty.url));
  if (refused) return `the URL must reach the public internet: ${refused}`;
  return null;
}

export const urlTemplate = (kind: 'landing' | 'postback', outbound?: OutboundPolicy) =>
  z
    .string()
    .max(2048)
    .superRefine((v, ctx) => {
      const problem = urlTemplateProblem(v, kind, outbound);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

const CURSOR_RE = /^[A-Za-z0-9_-]{1,400}$/;

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** Opaque: the `next_cursor` of the previous page. */
  cursor: z.string().regex(CURSOR_RE, 'must be a next_cursor value from a previous page').optional(),
};

/** A query-string list: `a,b` or repeated parameters. */
export const csvList = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(item).min(1).max(100));

export const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');
export const dateQuery = z.iso.datetime({ offset: true }).transform((v) => new Date(v));
