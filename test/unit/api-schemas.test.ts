import { decodeCursor, encodeCursor } from '../../src/http/api/pagination';
import { urlTemplateProblem } from '../../src/http/api/schemas';

test('URL templates: macros anywhere but the origin, known names only, http(s) only', () => {
  expect(urlTemplateProblem('https://shop.example/l?cid={click_id}&s={sub3}&x={p.utm_source}', 'landing')).toBeNull();
  expect(urlTemplateProblem('https://net.example/pb?c={click_id}&p={payout}&e={event}', 'postback')).toBeNull();
  expect(urlTemplateProblem('https://{sub1}.example/l', 'landing')).toMatch(/host/);
  expect(urlTemplateProblem('https://shop.example{sub1}/l', 'landing')).toMatch(/host/);
  expect(urlTemplateProblem('https://shop.example:{sub1}/l', 'landing')).toMatch(/host|port/);
  expect(urlTemplateProblem('{sub1}', 'landing')).not.toBeNull();
  expect(urlTemplateProblem('javascript:alert(1)', 'landing')).toMatch(/http/);
  expect(urlTemplateProblem('https://shop.example/l?c={clickid}', 'landing')).toMatch(/unknown macro \{clickid\}/);
  expect(urlTemplateProblem('https://shop.example/l?p={payout}', 'landing')).toMatch(/unknown macro/);
});

test('cursors round-trip and a forged one is refused', () => {
  expect(decodeCursor(encodeCursor('cmp_01'))).toBe('cmp_01');
  expect(decodeCursor(undefined)).toBeNull();
  expect(() => decodeCursor('bm9wZQ')).not.toThrow();
  expect(() => decodeCursor('bm9wZQ=')).toThrow(/cursor/);
});
