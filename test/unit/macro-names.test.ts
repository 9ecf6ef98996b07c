import { CLICK_MACROS, CONVERSION_MACROS, clickMacroValues, conversionMacroValues } from '../../src/domain/macros';

// The API checks URL templates against the macro name lists; the fillers decide what a macro
// becomes. A macro added to one and not the other would be refused when saved, or saved and then
// silently sent empty.

const session = { sessionId: 's', campaignId: 'c', advertiserId: 'a', publisherId: 'p', publisherData: { sub1: 'x', extra: 'y' } };

test('the landing macros are exactly what the click filler fills (besides {p.NAME})', () => {
  const filled = Object.keys(clickMacroValues(session)).filter((k) => !k.startsWith('p.'));
  expect(filled.sort()).toEqual([...CLICK_MACROS].sort());
});

test('the postback macros are exactly what the conversion filler fills (besides {p.NAME})', () => {
  const values = conversionMacroValues(session, { event: 'sale', txid: 't', amountMinor: 100, payoutMinor: 10, currency: 'EUR', status: 'approved', conversionId: 'cv' } as Parameters<typeof conversionMacroValues>[1]);
  const filled = Object.keys(values).filter((k) => !k.startsWith('p.'));
  expect(filled.sort()).toEqual([...CLICK_MACROS, ...CONVERSION_MACROS].sort());
});
