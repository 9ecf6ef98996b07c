import { imbalances, type Ledger } from '../../bench/chaos/ledger';

const balanced: Ledger = {
  clicksAnswered: 100,
  clicksFailed: 0,
  sessionsStored: 100,
  sessionsInCampaign: 100,
  workflowsStarted: 100,
  postbacksAccepted: 50,
  postbacksGivenUp: 0,
  postbacksRefused: 0,
  conversionsRecorded: 49,
  rejectedWithReason: 1,
  undecided: 0,
  deliveriesDelivered: 49,
  sinkReceived: 49,
  sinkDuplicates: 0,
};

test('a balanced ledger has no imbalance', () => {
  expect(imbalances(balanced)).toEqual([]);
  // Postbacks given up by the sender were never accepted: not a loss.
  expect(imbalances({ ...balanced, postbacksGivenUp: 3 })).toEqual([]);
});

test.each<[string, Partial<Ledger>, RegExp]>([
  ['a click without a redirect', { clicksFailed: 1 }, /1 click\(s\) not answered/],
  ['a session lost', { sessionsStored: 99 }, /clicks: answered 100 ≠ stored 99/],
  ['a session nobody was answered for', { sessionsInCampaign: 101 }, /in campaign 101/],
  ['a workflow never started', { workflowsStarted: 98 }, /workflows 98/],
  ['an accepted postback dropped', { conversionsRecorded: 48, deliveriesDelivered: 48, sinkReceived: 48 }, /postbacks: accepted 50 ≠ recorded 48 \+ rejected with a reason 1/],
  ['a postback still undecided', { undecided: 2 }, /2 accepted postback\(s\) without a decision/],
  ['a real postback refused', { postbacksRefused: 1 }, /1 postback\(s\) refused \(4xx\)/],
  ['a delivery missing', { deliveriesDelivered: 48 }, /conversions: recorded 49 ≠ delivered 48/],
  ['a conversion never reaching the sink', { sinkReceived: 48 }, /at the sink 48/],
  ['a publisher paid twice', { sinkDuplicates: 1 }, /1 duplicate postback\(s\) at the sink/],
])('%s is an imbalance', (_what, change, message) => {
  const found = imbalances({ ...balanced, ...change });
  expect(found).toHaveLength(1);
  expect(found[0]).toMatch(message);
});
