// JSON Schema's `pattern` is an ECMA-262 regular expression, but clients and checkers often run
// another dialect: Python's `re` (schemathesis, hypothesis) reads `\d` as any Unicode digit, `\s`
// as a different set of spaces, and lets `$` match before a final newline. Each of those made a
// string the document allowed one the server refused (a `from` written in Arabic-Indic digits).
// The document's patterns are rewritten into forms every dialect reads alike.

/** What ECMAScript's `\s` matches (WhiteSpace and LineTerminator), spelled out. */
const ECMA_SPACE = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/** `pattern` with `\d`, `\s` and `$` as ECMAScript means them, in a form Python's `re` agrees with. */
export function portablePattern(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      i++;
      if (next === 'd') out += inClass ? '0-9' : '[0-9]';
      else if (next === 's') out += inClass ? ECMA_SPACE : `[${ECMA_SPACE}]`;
      else out += c + next;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      // ECMAScript closes a class at its first unescaped `]` (`[]` is empty): the document has no such class.
      inClass = true;
      out += c;
      continue;
    }
    // End of input only, not before a last newline as in Python.
    out += c === '$' ? '$(?!\\n)' : c;
  }
  return out;
}

/** Every `pattern` in a JSON Schema (or a whole document) rewritten by portablePattern. */
export function withPortablePatterns<T>(json: T): T {
  if (Array.isArray(json)) return json.map(withPortablePatterns) as T;
  if (json === null || typeof json !== 'object') return json;
  return Object.fromEntries(
    Object.entries(json).map(([k, v]) => [k, k === 'pattern' && typeof v === 'string' ? portablePattern(v) : withPortablePatterns(v)]),
  ) as T;
}
