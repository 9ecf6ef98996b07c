import type { FieldError, KeyKind } from '../api';
import { parseRule, ruleText, type AmountRule, type RuleKind } from '../amount-input';

// Setup's editors for the structured fields of a record (a campaign's events, targeting and
// providers; a publisher's postback URLs per event): form fields instead of JSON text. Each input
// is named by the API's dotted path (`events.1.currency`), so an error the API names lands on it.

export type StructuredType = 'events' | 'targeting' | 'providers' | 'postbackUrls';

export interface EventDraft {
  name: string;
  currency: string;
  payoutKind: RuleKind;
  payout: string;
  revenueKind: RuleKind;
  revenue: string;
  repeatable: boolean;
  maxAmount: string;
}
interface TargetingDraft {
  countries: string;
  deviceTypes: string;
}
interface ProvidersDraft {
  campaign: string;
  business: string;
}
interface PostbackDraft {
  event: string;
  url: string;
}
export type Draft = EventDraft[] | TargetingDraft | ProvidersDraft | PostbackDraft[];

type Stored = Record<string, unknown>;
const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

const newEvent = (): EventDraft => ({ name: '', currency: '', payoutKind: 'fixed', payout: '', revenueKind: 'fixed', revenue: '', repeatable: false, maxAmount: '' });

/** The stored value as the editor's draft (an empty one on create). */
export function toDraft(type: StructuredType, v: unknown): Draft {
  switch (type) {
    case 'events':
      return ((v as Stored[] | undefined) ?? []).map((e) => {
        const currency = text(e.currency);
        const payout = e.payout as AmountRule | undefined;
        const revenue = e.revenue as AmountRule | undefined;
        return {
          name: text(e.name),
          currency,
          payoutKind: payout?.kind ?? 'fixed',
          payout: ruleText(payout, currency),
          revenueKind: revenue?.kind ?? 'fixed',
          revenue: ruleText(revenue, currency),
          repeatable: e.repeatable === true,
          maxAmount: typeof e.maxAmountMinor === 'number' ? ruleText({ kind: 'fixed', value: e.maxAmountMinor }, currency) : '',
        };
      });
    case 'targeting': {
      const t = (v as { countries?: string[]; deviceTypes?: string[] } | undefined) ?? {};
      return { countries: (t.countries ?? []).join(', '), deviceTypes: (t.deviceTypes ?? []).join(', ') };
    }
    case 'providers': {
      const p = (v as Stored | undefined) ?? {};
      return { campaign: text(p.campaign), business: text(p.business) };
    }
    case 'postbackUrls':
      return ((v as Stored[] | undefined) ?? []).map((r) => ({ event: text(r.event), url: text(r.url) }));
  }
}

/**
 * The API value of a draft, or the field errors that keep it from being sent (named by the API's
 * paths). `money`: whether this key may set payout and revenue (operator keys only).
 */
export function fromDraft(type: StructuredType, draft: Draft, name: string, money: boolean): { value: unknown; errors: FieldError[] } {
  const errors: FieldError[] = [];
  switch (type) {
    case 'events': {
      const value = (draft as EventDraft[]).map((e, i) => {
        const currency = e.currency.trim().toUpperCase();
        const out: Stored = { name: e.name.trim(), currency, repeatable: e.repeatable, maxAmountMinor: null };
        const amount = (key: 'payout' | 'revenue' | 'maxAmountMinor', kind: RuleKind, raw: string) => {
          if (raw.trim() === '') return undefined;
          const r = parseRule(kind, raw, currency);
          if (!r.ok) errors.push({ path: `${name}.${i}.${key}${key === 'maxAmountMinor' ? '' : '.value'}`, message: r.reason });
          return r.ok ? r.value : undefined;
        };
        if (money) {
          const payout = amount('payout', e.payoutKind, e.payout);
          const revenue = amount('revenue', e.revenueKind, e.revenue);
          if (payout !== undefined) out.payout = { kind: e.payoutKind, value: payout };
          if (revenue !== undefined) out.revenue = { kind: e.revenueKind, value: revenue };
        }
        const max = amount('maxAmountMinor', 'fixed', e.maxAmount);
        if (max !== undefined) out.maxAmountMinor = max;
        return out;
      });
      return { value, errors };
    }
    case 'targeting': {
      const t = draft as TargetingDraft;
      return { value: { countries: list(t.countries).map((c) => c.toUpperCase()), deviceTypes: list(t.deviceTypes) }, errors };
    }
    case 'providers': {
      const p = draft as ProvidersDraft;
      return { value: { campaign: p.campaign.trim() || null, business: p.business.trim() || null }, errors };
    }
    case 'postbackUrls':
      return { value: (draft as PostbackDraft[]).map((r) => ({ event: r.event.trim(), url: r.url.trim() })), errors };
  }
}

/** The errors at `path` or below it. */
const at = (errors: FieldError[], path: string) => errors.filter((e) => e.path === path || e.path.startsWith(`${path}.`));

/** One labelled input with its own error, described by it. */
function Input(p: { path: string; label: string; value: string; set: (v: string) => void; errors: FieldError[]; hint?: string; type?: string; inputMode?: 'decimal' }) {
  const id = `field-${p.path.replace(/\./g, '-')}`;
  const errs = at(p.errors, p.path);
  const describedBy = [p.hint ? `${id}-hint` : '', errs.length ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.path}
        type={(p.type ?? 'text') as 'text'}
        inputMode={p.inputMode}
        value={p.value}
        aria-invalid={errs.length > 0 ? true : undefined}
        aria-describedby={describedBy}
        onInput={(e) => p.set((e.target as HTMLInputElement).value)}
      />
      {p.hint && (
        <p id={`${id}-hint`} class="hint">
          {p.hint}
        </p>
      )}
      {errs.length > 0 && (
        <p id={`${id}-error`} class="error" data-testid={`error-${p.path}`}>
          {errs.map((e) => (e.path === p.path ? e.message : `${e.path.slice(p.path.length + 1)}: ${e.message}`)).join('; ')}
        </p>
      )}
    </div>
  );
}

function KindSelect({ path, label, value, set }: { path: string; label: string; value: RuleKind; set: (v: RuleKind) => void }) {
  const id = `field-${path.replace(/\./g, '-')}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => set((e.target as HTMLSelectElement).value as RuleKind)}>
        <option value="fixed">fixed amount</option>
        <option value="percent">% of the sale</option>
      </select>
    </div>
  );
}

/** The errors the API named on the field as a whole, or on a part no input shows. */
function Unplaced({ name, errors, placed }: { name: string; errors: FieldError[]; placed: string[] }) {
  const rest = at(errors, name).filter((e) => !placed.some((p) => e.path === p || e.path.startsWith(`${p}.`)));
  if (rest.length === 0) return null;
  return (
    <p class="error" data-testid={`error-${name}`}>
      {rest.map((e) => (e.path === name ? e.message : `${e.path}: ${e.message}`)).join('; ')}
    </p>
  );
}

export function StructuredEditor(p: { type: StructuredType; name: string; label: string; hint?: string; draft: Draft; set: (d: Draft) => void; errors: FieldError[]; kind: KeyKind }) {
  const { name, errors } = p;
  if (p.type === 'events') {
    const events = p.draft as EventDraft[];
    const money = p.kind === 'operator';
    const update = (i: number, patch: Partial<EventDraft>) => p.set(events.map((e, j) => (j === i ? { ...e, ...patch } : e)));
    const fields = ['name', 'currency', 'payout', 'revenue', 'maxAmountMinor', 'repeatable'];
    return (
      <fieldset class="field wide structured">
        <legend>{p.label}</legend>
        {p.hint && <p class="hint">{p.hint}</p>}
        {events.length === 0 && <p class="hint">No events: conversions cannot count until one is added.</p>}
        {events.map((e, i) => (
          <fieldset key={i} class="row">
            <legend>Event {i + 1}</legend>
            <Input path={`${name}.${i}.name`} label="Event name" value={e.name} set={(v) => update(i, { name: v })} errors={errors} />
            <Input path={`${name}.${i}.currency`} label="Currency" value={e.currency} set={(v) => update(i, { currency: v })} errors={errors} hint="ISO 4217, such as EUR" />
            {money && (
              <>
                <KindSelect path={`${name}.${i}.payout.kind`} label="Payout type" value={e.payoutKind} set={(v) => update(i, { payoutKind: v })} />
                <Input path={`${name}.${i}.payout`} label="Payout" value={e.payout} set={(v) => update(i, { payout: v })} errors={errors} inputMode="decimal" hint={e.payoutKind === 'fixed' ? 'In the currency, such as 2.50' : 'Percent of the sale, such as 12.5'} />
                <KindSelect path={`${name}.${i}.revenue.kind`} label="Revenue type" value={e.revenueKind} set={(v) => update(i, { revenueKind: v })} />
                <Input path={`${name}.${i}.revenue`} label="Revenue" value={e.revenue} set={(v) => update(i, { revenue: v })} errors={errors} inputMode="decimal" hint={e.revenueKind === 'fixed' ? 'In the currency, such as 4.00' : 'Percent of the sale, such as 20'} />
              </>
            )}
            <Input path={`${name}.${i}.maxAmountMinor`} label="Largest sale amount" value={e.maxAmount} set={(v) => update(i, { maxAmount: v })} errors={errors} inputMode="decimal" hint="In the currency; empty: the global cap" />
            <div class="field check">
              <input id={`field-${name}-${i}-repeatable`} type="checkbox" checked={e.repeatable} onChange={(ev) => update(i, { repeatable: (ev.target as HTMLInputElement).checked })} />
              <label for={`field-${name}-${i}-repeatable`}>Repeatable (counted more than once per click)</label>
            </div>
            <button type="button" onClick={() => p.set(events.filter((_, j) => j !== i))} aria-label={`Remove event ${i + 1}`}>
              Remove
            </button>
          </fieldset>
        ))}
        <Unplaced name={name} errors={errors} placed={events.flatMap((_, i) => fields.map((f) => `${name}.${i}.${f}`))} />
        <button type="button" onClick={() => p.set([...events, newEvent()])}>
          Add an event
        </button>
      </fieldset>
    );
  }
  if (p.type === 'postbackUrls') {
    const rows = p.draft as PostbackDraft[];
    const update = (i: number, patch: Partial<PostbackDraft>) => p.set(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
    return (
      <fieldset class="field wide structured">
        <legend>{p.label}</legend>
        {p.hint && <p class="hint">{p.hint}</p>}
        {rows.map((r, i) => (
          <fieldset key={i} class="row">
            <legend>Postback URL {i + 1}</legend>
            <Input path={`${name}.${i}.event`} label="For event" value={r.event} set={(v) => update(i, { event: v })} errors={errors} />
            <Input path={`${name}.${i}.url`} label="URL" type="url" value={r.url} set={(v) => update(i, { url: v })} errors={errors} />
            <button type="button" onClick={() => p.set(rows.filter((_, j) => j !== i))} aria-label={`Remove postback URL ${i + 1}`}>
              Remove
            </button>
          </fieldset>
        ))}
        <Unplaced name={name} errors={errors} placed={rows.flatMap((_, i) => [`${name}.${i}.event`, `${name}.${i}.url`])} />
        <button type="button" onClick={() => p.set([...rows, { event: '', url: '' }])}>
          Add a postback URL
        </button>
      </fieldset>
    );
  }
  if (p.type === 'targeting') {
    const t = p.draft as TargetingDraft;
    return (
      <fieldset class="field wide structured">
        <legend>{p.label}</legend>
        <Input path={`${name}.countries`} label="Countries" value={t.countries} set={(v) => p.set({ ...t, countries: v })} errors={errors} hint="ISO 3166 codes, comma-separated, such as FR, BE; empty: every country" />
        <Input path={`${name}.deviceTypes`} label="Device types" value={t.deviceTypes} set={(v) => p.set({ ...t, deviceTypes: v })} errors={errors} hint="Comma-separated, such as mobile, tablet, desktop; empty: every device" />
        <Unplaced name={name} errors={errors} placed={[`${name}.countries`, `${name}.deviceTypes`]} />
      </fieldset>
    );
  }
  const prov = p.draft as ProvidersDraft;
  return (
    <fieldset class="field wide structured">
      <legend>{p.label}</legend>
      <Input path={`${name}.campaign`} label="Campaign provider id" value={prov.campaign} set={(v) => p.set({ ...prov, campaign: v })} errors={errors} hint="A provider of kind campaign; empty: none" />
      <Input path={`${name}.business`} label="Business provider id" value={prov.business} set={(v) => p.set({ ...prov, business: v })} errors={errors} hint="A provider of kind business; empty: none" />
      <Unplaced name={name} errors={errors} placed={[`${name}.campaign`, `${name}.business`]} />
    </fieldset>
  );
}
