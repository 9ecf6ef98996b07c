import { execFileSync, spawnSync } from 'node:child_process';
import { portablePattern, withPortablePatterns } from '../../src/http/api/portable-pattern';

// The document's patterns must mean the same in ECMAScript (the server's dialect, and JSON
// Schema's) and in Python's `re` (schemathesis): checked here against both engines.

const hasPython = spawnSync('python3', ['--version']).status === 0;

/** Whether Python's re.search finds each pattern in each input. */
function pythonSearch(cases: [string, string][]): boolean[] {
  const script = 'import json,re,sys\nprint(json.dumps([re.search(p, s) is not None for p, s in json.load(sys.stdin)]))';
  return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(cases) }).toString()) as boolean[];
}

const DATE = '^\\d{4}-\\d{2}-\\d{2}$';
const NAME = '[^\\s\\ufeff]';
const cases: [pattern: string, input: string, ecma: boolean][] = [
  [DATE, '2024-03-31', true],
  // Arabic-Indic and full-width digits: \d in Python, not in ECMAScript.
  [DATE, '٢٠٢٤-٠٣-٣١', false],
  [DATE, '２０２４-03-31', false],
  // Python's `$` also matches before a final newline.
  [DATE, '2024-03-31\n', false],
  [NAME, 'a', true],
  [NAME, ' \u00a0\ufeff', false],
  // U+0085 and U+001C are white space to Python, not to ECMAScript (nor to String.prototype.trim).
  [NAME, '\u0085', true],
  [NAME, '\u001c', true],
  ['^[\\d.]+$', '1.5', true],
  ['^[\\d.]+$', '١.5', false],
  ['^a\\$$', 'a$', true],
];

test('ECMAScript reads each rewritten pattern as it read the original', () => {
  for (const [p, s, ecma] of cases) {
    expect([p, s, new RegExp(p).test(s)]).toEqual([p, s, ecma]);
    expect([p, s, new RegExp(portablePattern(p)).test(s)]).toEqual([p, s, ecma]);
  }
});

(hasPython ? test : test.skip)('Python reads each rewritten pattern as ECMAScript does', () => {
  const python = pythonSearch(cases.map(([p, s]) => [portablePattern(p), s]));
  expect(cases.map(([p, s], i) => [p, s, python[i]])).toEqual(cases.map(([p, s, ecma]) => [p, s, ecma]));
  // And the originals did not (what made the document allow what the server refused).
  expect(pythonSearch([[DATE, '٢٠٢٤-٠٣-٣١'], [DATE, '2024-03-31\n']])).toEqual([true, true]);
});

test('every pattern of a document is rewritten, nothing else', () => {
  const doc = { a: { pattern: '\\d$', description: '\\d$' }, b: [{ pattern: 'x' }], c: null, d: 3 };
  expect(withPortablePatterns(doc)).toEqual({ a: { pattern: '[0-9]$(?!\\n)', description: '\\d$' }, b: [{ pattern: 'x' }], c: null, d: 3 });
});
