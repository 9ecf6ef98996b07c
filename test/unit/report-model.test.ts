import fc from 'fast-check';
import { buildReport, csvCell, earningsPerClick, reportCsv } from '../../src/reports/model';

const show = { payout: true, revenue: true };

test('EPC is exact to two digits beyond the currency, rounded half up, with no floats', () => {
  expect(earningsPerClick(1000, 3, 'EUR')).toBe('3.3333');
  expect(earningsPerClick(2, 3, 'EUR')).toBe('0.0067');
  expect(earningsPerClick(5, 2, 'JPY')).toBe('2.50');
  expect(earningsPerClick(1, 8, 'KWD')).toBe('0.00013');
  expect(earningsPerClick(9_007_199_254_740_991, 7, 'USD')).toBe('12867427506772.8443');
  expect(earningsPerClick(100, 0, 'EUR')).toBeNull();
});

test('currencies are never added together and bots stay out of the click count unless asked for', () => {
  const clicks = [
    { dims: { campaign: 'a' }, bot: false, count: 4 },
    { dims: { campaign: 'a' }, bot: true, count: 2 },
    { dims: { campaign: 'b' }, bot: false, count: 1 },
  ];
  const conversions = [
    { dims: { campaign: 'a' }, event: 'sale', currency: 'EUR', count: 1, payoutMinor: 100, revenueMinor: 150 },
    { dims: { campaign: 'a' }, event: 'sale', currency: 'USD', count: 2, payoutMinor: 300, revenueMinor: 200 },
  ];
  const r = buildReport(['campaign'], clicks, conversions, { includeBots: false, show });
  expect(r.rows[0]).toMatchObject({ campaign: 'a', clicks: 4, bot_clicks: 2, conversions: { sale: 3 }, conversion_rate: 0.75 });
  expect(r.rows[0]!.money).toEqual([
    { currency: 'EUR', payout_minor: 100, payout: '1.00', revenue_minor: 150, revenue: '1.50', profit_minor: 50, profit: '0.50', epc: '0.2500' },
    { currency: 'USD', payout_minor: 300, payout: '3.00', revenue_minor: 200, revenue: '2.00', profit_minor: -100, profit: '-1.00', epc: '0.7500' },
  ]);
  expect(r.rows[1]).toMatchObject({ campaign: 'b', clicks: 1, conversions_total: 0, conversion_rate: 0, money: [] });
  expect(buildReport(['campaign'], clicks, conversions, { includeBots: true, show }).totals.clicks).toBe(7);
});

test('CSV quotes what needs quoting and leaves hidden money columns out', () => {
  const r = buildReport(['country'], [{ dims: { country: 'a,"b"' }, bot: false, count: 1 }], [], { includeBots: false, show: { payout: true, revenue: false } });
  expect(reportCsv(['country'], r.rows, { payout: true, revenue: false })).toBe(
    'country,clicks,bot_clicks,conversions_total,conversion_rate,currency,payout_minor,payout,epc\r\n"a,""b""",1,0,0,0,,,,\r\n',
  );
});

test('sums never overflow: any tracked amounts total exactly and never throw (property)', () => {
  // Each stored payout/revenue is at most 10^13 (amount cap x 1000 %), and the database hands sums
  // back as doubles: facts up to 2^60 stand in for sums already past 2^53.
  const fact = fc.record({
    campaign: fc.constantFrom('a', 'b'),
    currency: fc.constantFrom('EUR', 'JPY', 'KWD'),
    payout: fc.integer({ min: 0, max: 2 ** 60 }),
    revenue: fc.integer({ min: 0, max: 2 ** 60 }),
  });
  fc.assert(
    fc.property(fc.array(fact, { maxLength: 200 }), fc.integer({ min: 0, max: 10 }), (facts, clicks) => {
      const conversions = facts.map((f) => ({ dims: { campaign: f.campaign }, event: 'sale', currency: f.currency, count: 1, payoutMinor: f.payout, revenueMinor: f.revenue }));
      const r = buildReport(['campaign'], [{ dims: { campaign: 'a' }, bot: false, count: clicks }], conversions, { includeBots: false, show });
      for (const cur of ['EUR', 'JPY', 'KWD']) {
        const mine = facts.filter((f) => f.currency === cur);
        const row = r.totals.money.find((m) => m.currency === cur);
        if (mine.length === 0) continue;
        const payout = mine.reduce((s, f) => s + BigInt(f.payout), 0n);
        const revenue = mine.reduce((s, f) => s + BigInt(f.revenue), 0n);
        expect(BigInt(row!.payout!.replace('.', ''))).toBe(payout);
        expect(BigInt(row!.profit!.replace('.', ''))).toBe(revenue - payout);
      }
      expect(() => reportCsv(['campaign'], r.rows, show)).not.toThrow();
    }),
  );
});

test('CSV cells a spreadsheet would run as a formula are neutralised; numbers, negative ones included, are not', () => {
  expect(['=1+2', '+1', '-2-3', '-A1', '@SUM(A1)', '\tx', '\rx', '=HYPERLINK("http://x","y")'].map((v) => csvCell(v))).toEqual([
    "'=1+2",
    "'+1",
    "'-2-3",
    "'-A1",
    "'@SUM(A1)",
    "'\tx",
    '"\'\rx"',
    '"\'=HYPERLINK(""http://x"",""y"")"',
  ]);
  expect([csvCell(-100), csvCell('-1.00'), csvCell('-0.0067'), csvCell('a-b'), csvCell('FR'), csvCell(null)]).toEqual(['-100', '-1.00', '-0.0067', 'a-b', 'FR', '']);
  const r = buildReport(['support'], [{ dims: { support: '-2-3' }, bot: false, count: 1 }], [{ dims: { support: '-2-3' }, event: 'sale', currency: 'EUR', count: 1, payoutMinor: 100, revenueMinor: 50 }], { includeBots: false, show });
  expect(reportCsv(['support'], r.rows, show).split('\r\n')[1]).toBe("'-2-3,1,0,1,1,1,EUR,100,1.00,50,0.50,-50,-0.50,1.0000");
});
