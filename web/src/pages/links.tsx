import { useState } from 'preact/hooks';
import { formatMinor, parseAmount, percentOf } from '../../../src/domain/money';
import { request, type Me, type Schemas } from '../api';
import { Empty, ErrorMessage, Show, useAsync } from '../ui';

// Links: a publisher's tracked link, built with the API (GET /links); an advertiser's pixel and
// postback URLs (GET /advertisers/{id}/tracking) with token rotation, and what a test conversion
// would send and count, worked out from the campaign's own event rules.

type Campaign = Schemas['Campaign'];
type Tracking = Schemas['AdvertiserTracking'];
type Rule = NonNullable<Campaign['events'][number]['payout']>;

export function Links({ me }: { me: Me; params: URLSearchParams }) {
  return (
    <section aria-labelledby="links-title">
      <h1 id="links-title">Links</h1>
      {me.kind !== 'advertiser' && <LinkBuilder me={me} />}
      {me.kind !== 'publisher' && <AdvertiserTracking me={me} />}
    </section>
  );
}

export function CopyRow({ label, value, testId }: { label: string; value: string; testId?: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  return (
    <div class="copy-row">
      <code data-testid={testId}>{value}</code>
      <button
        type="button"
        aria-label={`Copy ${label}`}
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(value);
            setCopied('Copied');
          } catch {
            setCopied('Copy failed: select the text and copy it');
          }
        }}
      >
        Copy
      </button>
      <span role="status">{copied}</span>
    </div>
  );
}

function LinkBuilder({ me }: { me: Me }) {
  const [campaigns] = useAsync(() => request('get', '/campaigns', { query: { limit: 200, status: 'active' } }), 'campaigns');
  const [form, setForm] = useState<Record<string, string>>({ campaign: '', publisher: me.kind === 'publisher' ? (me.account_id ?? '') : '', asset: '', support: '', sub1: '', sub2: '', sub3: '' });
  const [result, setResult] = useState<{ url: string | null; error: unknown }>({ url: null, error: null });
  const set = (k: string) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const build = async (e: Event) => {
    e.preventDefault();
    setResult({ url: null, error: null });
    const query = Object.fromEntries(Object.entries(form).filter(([k, v]) => v !== '' && !(k === 'publisher' && me.kind === 'publisher'))) as { campaign: string };
    try {
      const link = await request('get', '/links', { query });
      setResult({ url: link.url, error: null });
    } catch (error) {
      setResult({ url: null, error });
    }
  };
  return (
    <form class="card" onSubmit={build} aria-labelledby="builder-title">
      <h2 id="builder-title">Tracked link</h2>
      <Show value={campaigns} what="campaigns">
        {(p) =>
          p.data.length === 0 ? (
            <Empty>No active campaign to link to.</Empty>
          ) : (
            <div class="fields">
              <div>
                <label for="link-campaign">Campaign</label>
                <select id="link-campaign" value={form.campaign} onChange={set('campaign')} required>
                  <option value="">Choose…</option>
                  {p.data.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name} ({c.id})
                    </option>
                  ))}
                </select>
              </div>
              {me.kind === 'operator' && (
                <div>
                  <label for="link-publisher">Publisher id</label>
                  <input id="link-publisher" type="text" value={form.publisher} onInput={set('publisher')} />
                </div>
              )}
              <div>
                <label for="link-asset">Asset id (optional)</label>
                <input id="link-asset" type="text" value={form.asset} onInput={set('asset')} />
              </div>
              <div>
                <label for="link-support">Support id (optional)</label>
                <input id="link-support" type="text" value={form.support} onInput={set('support')} />
              </div>
              {['sub1', 'sub2', 'sub3'].map((s) => (
                <div key={s}>
                  <label for={`link-${s}`}>{s} (optional)</label>
                  <input id={`link-${s}`} type="text" value={form[s]} onInput={set(s)} />
                </div>
              ))}
            </div>
          )
        }
      </Show>
      <button type="submit">Build link</button>
      {result.error !== null && <ErrorMessage error={result.error} />}
      {result.url && <CopyRow label="tracked link" value={result.url} testId="tracked-link" />}
    </form>
  );
}

function AdvertiserTracking({ me }: { me: Me }) {
  const [advertiser, setAdvertiser] = useState(me.kind === 'advertiser' ? (me.account_id ?? '') : '');
  const [chosen, setChosen] = useState(advertiser);
  return (
    <section class="card" aria-labelledby="tracking-title">
      <h2 id="tracking-title">Conversion pixel and postback</h2>
      {me.kind === 'operator' && (
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            setChosen(advertiser.trim());
          }}
        >
          <label for="tracking-advertiser">Advertiser id</label>
          <input id="tracking-advertiser" type="text" value={advertiser} onInput={(e) => setAdvertiser((e.target as HTMLInputElement).value)} />
          <button type="submit">Show</button>
        </form>
      )}
      {chosen ? <TrackingFor advertiserId={chosen} me={me} key={chosen} /> : <Empty>Give an advertiser id.</Empty>}
    </section>
  );
}

function TrackingFor({ advertiserId, me }: { advertiserId: string; me: Me }) {
  const [tracking, reload] = useAsync(() => request('get', '/advertisers/{id}/tracking', { params: { id: advertiserId } }), advertiserId);
  const [rotate, setRotate] = useState<{ busy: boolean; error: unknown; done: boolean }>({ busy: false, error: null, done: false });
  return (
    <Show value={tracking} what="the tracking URLs">
      {(t) => (
        <>
          <h3>Server-to-server postback</h3>
          <CopyRow label="postback URL" value={t.postback} testId="postback-url" />
          <p class="hint">Replace each {'{name}'} with your platform’s value. The token authenticates you: rotate it if it leaked.</p>
          <button
            type="button"
            disabled={rotate.busy}
            onClick={async () => {
              if (!window.confirm('Rotate the postback token? The current one stops working within a minute.')) return;
              setRotate({ busy: true, error: null, done: false });
              try {
                await request('post', '/advertisers/{id}/rotate-token', { params: { id: advertiserId } });
                setRotate({ busy: false, error: null, done: true });
                reload();
              } catch (error) {
                setRotate({ busy: false, error, done: false });
              }
            }}
          >
            Rotate token
          </button>
          {rotate.done && <span role="status"> New token issued; the URL above has it.</span>}
          {rotate.error !== null && <ErrorMessage error={rotate.error} />}
          <h3>Pixel</h3>
          <CopyRow label="pixel image URL" value={t.pixel.gif} />
          <CopyRow label="pixel page URL" value={t.pixel.html} />
          <TestConversion tracking={t} me={me} />
        </>
      )}
    </Show>
  );
}

/** What a postback for one event would send to clicktrail and what it would count, from the campaign's rules. */
function TestConversion({ tracking, me }: { tracking: Tracking; me: Me }) {
  const [campaignId, setCampaignId] = useState(tracking.campaigns[0]?.id ?? '');
  const [event, setEvent] = useState('');
  const [amount, setAmount] = useState('');
  const [shown, setShown] = useState<{ campaignId: string; event: string; amount: string } | null>(null);
  const [campaign] = useAsync(
    async () => (shown ? await request('get', '/campaigns/{id}', { params: { id: shown.campaignId } }) : null),
    JSON.stringify(shown),
  );
  if (tracking.campaigns.length === 0) return <Empty>No campaign yet: a test conversion needs one.</Empty>;
  const events = tracking.campaigns.find((c) => c.id === campaignId)?.events ?? [];
  return (
    <form
      class="card"
      aria-labelledby="test-conversion-title"
      onSubmit={(e) => {
        e.preventDefault();
        setShown({ campaignId, event: event || events[0] || '', amount });
      }}
    >
      <h3 id="test-conversion-title">Test conversion</h3>
      <div class="fields">
        <div>
          <label for="test-campaign">Campaign</label>
          <select id="test-campaign" value={campaignId} onChange={(e) => setCampaignId((e.target as HTMLSelectElement).value)}>
            {tracking.campaigns.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.id})
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="test-event">Event</label>
          <select id="test-event" value={event} onChange={(e) => setEvent((e.target as HTMLSelectElement).value)}>
            {events.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="test-amount">Sale amount (optional)</label>
          <input id="test-amount" type="text" inputMode="decimal" value={amount} onInput={(e) => setAmount((e.target as HTMLInputElement).value)} />
        </div>
      </div>
      <button type="submit">Show what it would send</button>
      {shown && (
        <Show value={campaign} what="the campaign's rules">
          {(c) => (c ? <Preview tracking={tracking} campaign={c} event={shown.event} amount={shown.amount} me={me} /> : null)}
        </Show>
      )}
    </form>
  );
}

function Preview({ tracking, campaign, event, amount, me }: { tracking: Tracking; campaign: Campaign; event: string; amount: string; me: Me }) {
  const rule = campaign.events.find((e) => e.name === event);
  if (!rule) return <p role="alert">This campaign has no event “{event}”: such a postback would be refused.</p>;
  let amountMinor: number | null = null;
  if (amount.trim()) {
    const parsed = parseAmount(amount.trim(), rule.currency);
    if (!parsed.ok) return <p role="alert">Amount: {parsed.reason}</p>;
    amountMinor = parsed.minor;
  }
  const value = (r: Rule | undefined): string => {
    if (!r) return '—';
    if (r.kind === 'fixed') return `${formatMinor(r.value, rule.currency)} ${rule.currency}`;
    return amountMinor === null ? `${r.value / 100} % of the amount (none given: a percentage of nothing is refused)` : `${formatMinor(percentOf(amountMinor, r.value), rule.currency)} ${rule.currency}`;
  };
  const url = tracking.postback
    .replace('{event}', encodeURIComponent(event))
    .replace('{amount}', amountMinor === null ? '' : formatMinor(amountMinor, rule.currency))
    .replace('{currency}', rule.currency)
    .replace('{status}', 'approved');
  return (
    <div data-testid="test-conversion">
      <p>The postback your platform would send (with a real click id and transaction id):</p>
      <CopyRow label="test postback URL" value={url} />
      <dl class="fields-list">
        <dt>Counts as</dt>
        <dd>
          {event} on {campaign.name}, {campaign.status === 'active' ? 'while the click’s attribution window is open' : `but the campaign is ${campaign.status}`}
        </dd>
        {me.kind !== 'publisher' && (
          <>
            <dt>You are charged (revenue)</dt>
            <dd data-testid="test-revenue">{value(rule.revenue)}</dd>
          </>
        )}
        {me.kind === 'operator' && (
          <>
            <dt>The publisher earns (payout)</dt>
            <dd data-testid="test-payout">{value(rule.payout)}</dd>
          </>
        )}
      </dl>
    </div>
  );
}
