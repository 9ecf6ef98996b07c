import { useState } from 'preact/hooks';
import { ApiError, request, type FieldError, type KeyKind, type Me, type Page } from '../api';
import { capitalized } from '../format';
import { BASE, navigate } from '../router';
import { PagedTable } from '../data-table';
import { ErrorMessage, Show, useAsync } from '../ui';
import { StructuredEditor, fromDraft, toDraft, type Draft, type StructuredType } from './setup-editors';

// Setup: the configuration records of the API, listed, created and changed with forms. Each form
// field is one top-level field of the API body; an error the API names (`fields[].path`, such as
// `events.0.currency`) is shown on the field it starts with, or on the structured editor's own input
// for that path (setup-editors.tsx).

type FieldType = 'text' | 'url' | 'number' | 'select' | 'list' | 'datetime' | StructuredType;

interface Field {
  name: string;
  label: string;
  type: FieldType;
  options?: readonly string[];
  hint?: string;
  /** Needed on create. */
  required?: boolean;
  /** Who may set it (default: whoever may create or change the record). */
  kinds?: readonly KeyKind[];
  /** Only on create (ids and owners do not change). */
  createOnly?: boolean;
  /** Only on edit (status: archive and restore). */
  editOnly?: boolean;
}

type Collection = '/advertisers' | '/campaigns' | '/assets' | '/publishers' | '/supports' | '/providers' | '/api-keys';

interface Resource {
  key: string;
  label: string;
  noun: string;
  path: Collection;
  read: readonly KeyKind[];
  create: readonly KeyKind[];
  update: readonly KeyKind[];
  fields: Field[];
  /** Archived through POST …/archive; API keys are revoked instead and not edited. */
  archive?: boolean;
}

const STATUS = { name: 'status', label: 'Status', type: 'select', options: ['active', 'archived'], editOnly: true } as const;
const ID = { name: 'id', label: 'Id (optional: generated when empty)', type: 'text', createOnly: true, hint: '1 to 64 letters, digits, _ or -' } as const;
const OPERATOR: readonly KeyKind[] = ['operator'];

export const RESOURCES: Resource[] = [
  {
    key: 'advertisers', label: 'Advertisers', noun: 'advertiser', path: '/advertisers', read: ['operator', 'advertiser'], create: OPERATOR, update: ['operator', 'advertiser'], archive: true,
    fields: [
      ID,
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'ipAllowlist', label: 'Postback IP allowlist', type: 'list', hint: 'IP addresses or CIDR ranges, comma-separated; empty: any address' },
      { ...STATUS, kinds: OPERATOR },
    ],
  },
  {
    key: 'campaigns', label: 'Campaigns', noun: 'campaign', path: '/campaigns', read: ['operator', 'advertiser', 'publisher'], create: ['operator', 'advertiser'], update: ['operator', 'advertiser'], archive: true,
    fields: [
      ID,
      { name: 'advertiserId', label: 'Advertiser id', type: 'text', createOnly: true, kinds: OPERATOR, required: true },
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'landingUrl', label: 'Landing URL', type: 'url', required: true, hint: 'http(s); macros such as {click_id}, {sub1} in the path or query' },
      { name: 'fallbackUrl', label: 'Fallback URL', type: 'url', hint: 'Where refused clicks go (paused campaign, targeting); empty: none' },
      { name: 'attributionWindowSec', label: 'Attribution window (seconds)', type: 'number', hint: '60 to 34,560,000; default 30 days' },
      { name: 'approvalMode', label: 'Approval', type: 'select', options: ['auto', 'manual'], hint: 'manual: conversions wait as pending until approved' },
      { name: 'events', label: 'Events', type: 'events', hint: 'What a conversion can be; payout (what the publisher earns) and revenue (what the advertiser pays) are set with operator keys' },
      { name: 'defaultEvent', label: 'Default event', type: 'text', hint: 'Used when a conversion names none; empty: none' },
      { name: 'publisherAccess', label: 'Publisher access', type: 'select', options: ['all', 'allowlist'] },
      { name: 'allowedPublisherIds', label: 'Allowed publishers', type: 'list', hint: 'Publisher ids, comma-separated (with access allowlist)' },
      { name: 'targeting', label: 'Targeting', type: 'targeting' },
      { name: 'providers', label: 'Providers', type: 'providers', kinds: OPERATOR },
      { name: 'status', label: 'Status', type: 'select', options: ['active', 'paused', 'archived'] },
    ],
  },
  {
    key: 'assets', label: 'Assets', noun: 'asset', path: '/assets', read: ['operator', 'advertiser', 'publisher'], create: ['operator', 'advertiser'], update: ['operator', 'advertiser'], archive: true,
    fields: [
      ID,
      { name: 'campaignId', label: 'Campaign id', type: 'text', required: true, createOnly: true },
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'kind', label: 'Kind', type: 'select', options: ['banner', 'mailer', 'text', 'video', 'other'] },
      { name: 'url', label: 'Landing URL for this asset', type: 'url', hint: 'Empty: the campaign’s' },
      STATUS,
    ],
  },
  {
    key: 'publishers', label: 'Publishers', noun: 'publisher', path: '/publishers', read: ['operator', 'publisher'], create: OPERATOR, update: ['operator', 'publisher'], archive: true,
    fields: [
      ID,
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'postbackUrl', label: 'Postback URL', type: 'url', hint: 'Called for each conversion; macros such as {click_id}, {payout}, {event}' },
      { name: 'postbackUrls', label: 'Postback URLs per event', type: 'postbackUrls', hint: 'Used instead of the postback URL for that event' },
      { name: 'providerId', label: 'Provider id', type: 'text', kinds: OPERATOR },
      { ...STATUS, kinds: OPERATOR },
    ],
  },
  {
    key: 'supports', label: 'Supports', noun: 'support', path: '/supports', read: ['operator', 'publisher'], create: ['operator', 'publisher'], update: ['operator', 'publisher'], archive: true,
    fields: [
      ID,
      { name: 'publisherId', label: 'Publisher id', type: 'text', createOnly: true, kinds: OPERATOR, required: true },
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'kind', label: 'Kind', type: 'select', options: ['site', 'newsletter', 'placement', 'app', 'other'] },
      { name: 'url', label: 'URL', type: 'url' },
      STATUS,
    ],
  },
  {
    key: 'providers', label: 'Providers', noun: 'provider', path: '/providers', read: OPERATOR, create: OPERATOR, update: OPERATOR, archive: true,
    fields: [
      ID,
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'kind', label: 'Kind', type: 'select', options: ['campaign', 'publisher', 'business'], createOnly: true, required: true },
      { name: 'notificationUrl', label: 'Notification URL', type: 'url', hint: 'Called for each conversion; macros such as {click_id}, {payout}' },
      STATUS,
    ],
  },
  {
    key: 'api-keys', label: 'API keys', noun: 'API key', path: '/api-keys', read: OPERATOR, create: OPERATOR, update: [],
    fields: [
      { name: 'kind', label: 'Kind', type: 'select', options: ['operator', 'advertiser', 'publisher'], required: true, createOnly: true },
      { name: 'accountId', label: 'Account id', type: 'text', createOnly: true, hint: 'The advertiser or publisher id; empty for an operator key' },
      { name: 'name', label: 'Name', type: 'text', createOnly: true },
      { name: 'expiresAt', label: 'Expires at', type: 'datetime', createOnly: true, hint: 'Empty: never' },
    ],
  },
];

type Rec = { id: string; name?: string; status?: string; kind?: string; revokedAt?: string | null } & Record<string, unknown>;
type Values = Record<string, string | Draft>;

const STRUCTURED: readonly FieldType[] = ['events', 'targeting', 'providers', 'postbackUrls'];
const isStructured = (t: FieldType): t is StructuredType => STRUCTURED.includes(t);

/** The form's value for a stored one: text, or a structured editor's draft. */
function toText(f: Field, v: unknown): string | Draft {
  if (isStructured(f.type)) return toDraft(f.type, v);
  if (v === undefined || v === null) return '';
  if (f.type === 'list') return (v as string[]).join(', ');
  return String(v);
}

/** The API value of a text field, or undefined to leave it out; one that does not parse is a field error. */
function fromText(f: Field, text: string, creating: boolean): { value?: unknown; error?: string } {
  const t = text.trim();
  if (t === '') {
    // Empty clears a nullable field on edit; on create the API's default applies.
    if (creating) return {};
    if (f.type === 'url' || f.name === 'defaultEvent' || f.name === 'providerId') return { value: null };
    if (f.type === 'list') return { value: [] };
    return {};
  }
  if (f.type === 'number') return Number.isFinite(Number(t)) ? { value: Number(t) } : { error: 'must be a number' };
  if (f.type === 'list') return { value: t.split(',').map((s) => s.trim()).filter(Boolean) };
  if (f.type === 'datetime') {
    const d = new Date(t);
    return Number.isNaN(d.getTime()) ? { error: 'must be a date and time' } : { value: d.toISOString() };
  }
  return { value: t };
}

export function Setup({ me, params }: { me: Me; params: URLSearchParams }) {
  const visible = RESOURCES.filter((r) => r.read.includes(me.kind));
  const resource = visible.find((r) => r.key === params.get('kind')) ?? visible[0]!;
  const id = params.get('id');
  const creating = params.get('new') === '1';
  return (
    <section aria-labelledby="setup-title">
      <h1 id="setup-title">Setup</h1>
      <nav class="segmented" aria-label="Setup sections">
        {visible.map((r) => (
          <a key={r.key} href={`${BASE}/setup?kind=${r.key}`} aria-current={r === resource ? 'page' : undefined}>
            {r.label}
          </a>
        ))}
      </nav>
      {creating ? (
        <RecordForm me={me} resource={resource} record={null} key={`${resource.key}-new`} />
      ) : id ? (
        <EditRecord me={me} resource={resource} id={id} />
      ) : (
        <RecordList me={me} resource={resource} cursor={params.get('cursor') ?? undefined} />
      )}
    </section>
  );
}

function RecordList({ me, resource, cursor }: { me: Me; resource: Resource; cursor?: string }) {
  const [page, reload] = useAsync(() => request('get', resource.path, { query: { limit: 50, ...(cursor ? { cursor } : {}) } }) as Promise<Page<Rec>>, `${resource.key}:${cursor ?? ''}`);
  return (
    <div class="card">
      <div class="toolbar">
        <h2>{resource.label}</h2>
        {resource.create.includes(me.kind) && (
          <a class="button" href={`${BASE}/setup?kind=${resource.key}&new=1`}>
            New {resource.noun}
          </a>
        )}
      </div>
      <PagedTable
        page={page}
        what={resource.label.toLowerCase()}
        empty={`No ${resource.noun} yet.`}
        go={({ cursor }) => navigate(`/setup?kind=${resource.key}&cursor=${encodeURIComponent(cursor)}`)}
        label={`${resource.label} table`}
        testId={`${resource.key}-table`}
        rowKey={(r) => r.id}
        columns={[
          { head: 'Id', cell: (r) => (resource.update.includes(me.kind) ? <a href={`${BASE}/setup?kind=${resource.key}&id=${encodeURIComponent(r.id)}`}>{r.id}</a> : r.id) },
          { head: 'Name', cell: (r) => r.name ?? '—' },
          resource.key === 'api-keys' ? { head: 'Kind', cell: (r) => `${r.kind}${r.revokedAt ? ' (revoked)' : ''}` } : { head: 'Status', cell: (r) => r.status },
          { head: 'Actions', cell: (r) => <RowAction me={me} resource={resource} record={r} onDone={reload} /> },
        ]}
      />
    </div>
  );
}

/** Archive a record, or revoke a key. */
function RowAction({ me, resource, record, onDone }: { me: Me; resource: Resource; record: Rec; onDone: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const revoke = resource.key === 'api-keys';
  if (revoke ? record.revokedAt || me.kind !== 'operator' : !resource.archive || record.status === 'archived' || !resource.update.includes(me.kind)) return <>—</>;
  if (resource.key === 'advertisers' || resource.key === 'publishers') {
    if (me.kind !== 'operator') return <>—</>;
  }
  return (
    <>
      <button
        type="button"
        aria-label={`${revoke ? 'Revoke' : 'Archive'} ${record.id}`}
        onClick={async () => {
          setError(null);
          try {
            if (revoke) await request('post', '/api-keys/{id}/revoke', { params: { id: record.id } });
            else await request('post', `${resource.path}/{id}/archive` as '/campaigns/{id}/archive', { params: { id: record.id } });
            onDone();
          } catch (err) {
            setError(err);
          }
        }}
      >
        {revoke ? 'Revoke' : 'Archive'}
      </button>
      {error !== null && <ErrorMessage error={error} />}
    </>
  );
}

function EditRecord({ me, resource, id }: { me: Me; resource: Resource; id: string }) {
  const [rec] = useAsync(() => request('get', `${resource.path}/{id}` as '/campaigns/{id}', { params: { id } }) as Promise<Rec>, `${resource.key}:${id}`);
  return (
    <Show value={rec} what={`the ${resource.noun}`}>
      {(r) => <RecordForm me={me} resource={resource} record={r} key={`${resource.key}-${id}`} />}
    </Show>
  );
}

function RecordForm({ me, resource, record }: { me: Me; resource: Resource; record: Rec | null }) {
  const creating = record === null;
  const fields = resource.fields.filter((f) => (creating ? !f.editOnly : !f.createOnly) && (!f.kinds || f.kinds.includes(me.kind)));
  const [values, setValues] = useState<Values>(() => Object.fromEntries(fields.map((f) => [f.name, creating && !isStructured(f.type) ? '' : toText(f, record?.[f.name])])));
  const [state, setState] = useState<{ busy: boolean; error: unknown; fieldErrors: FieldError[]; saved: Rec | null }>({ busy: false, error: null, fieldErrors: [], saved: null });

  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = {};
    const local: FieldError[] = [];
    for (const f of fields) {
      if (isStructured(f.type)) {
        const { value, errors } = fromDraft(f.type, values[f.name] as Draft, f.name, me.kind === 'operator');
        local.push(...errors);
        body[f.name] = value;
        continue;
      }
      const { value, error } = fromText(f, (values[f.name] as string | undefined) ?? '', creating);
      if (error) local.push({ path: f.name, message: error });
      else if (value !== undefined) body[f.name] = value;
    }
    if (local.length > 0) {
      setState({ busy: false, error: null, fieldErrors: local, saved: null });
      return;
    }
    setState({ busy: true, error: null, fieldErrors: [], saved: null });
    try {
      const saved = creating
        ? ((await request('post', resource.path, { body: body as never })) as Rec)
        : ((await request('patch', `${resource.path}/{id}` as '/campaigns/{id}', { params: { id: record.id }, body: body as never })) as Rec);
      setState({ busy: false, error: null, fieldErrors: [], saved });
    } catch (error) {
      const named = error instanceof ApiError ? error.fields : [];
      setState({ busy: false, error: named.some((f) => fields.some((x) => x.name === topField(f.path))) ? null : error, fieldErrors: named, saved: null });
    }
  };

  const errorsOf = (name: string) => state.fieldErrors.filter((f) => topField(f.path) === name);
  const title = creating ? `New ${resource.noun}` : `${capitalized(resource.noun)} ${record.id}`;
  return (
    <form class="card" onSubmit={submit} aria-labelledby="record-form-title" noValidate>
      <h2 id="record-form-title">{title}</h2>
      <div class="fields">
        {fields.map((f) => {
          const id = `field-${f.name}`;
          const errs = errorsOf(f.name);
          const describedBy = [f.hint ? `${id}-hint` : '', errs.length ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
          const set = (v: string | Draft) => setValues({ ...values, [f.name]: v });
          if (isStructured(f.type)) {
            return <StructuredEditor key={f.name} type={f.type} name={f.name} label={f.label} hint={f.hint} draft={values[f.name] as Draft} set={set} errors={state.fieldErrors} kind={me.kind} />;
          }
          const text = values[f.name] as string;
          const common = { id, name: f.name, 'aria-invalid': errs.length > 0 ? true : undefined, 'aria-describedby': describedBy, 'aria-required': f.required && creating ? true : undefined };
          return (
            <div key={f.name} class="field">
              <label for={id}>{f.label}</label>
              {f.type === 'select' ? (
                <select {...common} value={text} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
                  {!f.required || !creating ? <option value="">{creating ? '(default)' : '(unchanged)'}</option> : <option value="">Choose…</option>}
                  {f.options!.map((o) => (
                    <option key={o} value={o}>
                      {o}
                    </option>
                  ))}
                </select>
              ) : (
                <input {...common} type={(f.type === 'number' ? 'number' : f.type === 'datetime' ? 'datetime-local' : f.type === 'url' ? 'url' : 'text') as 'text'} value={text} onInput={(e) => set((e.target as HTMLInputElement).value)} />
              )}
              {f.hint && (
                <p id={`${id}-hint`} class="hint">
                  {f.hint}
                </p>
              )}
              {errs.length > 0 && (
                <p id={`${id}-error`} class="error" data-testid={`error-${f.name}`}>
                  {errs.map((x) => (x.path === f.name ? x.message : `${x.path}: ${x.message}`)).join('; ')}
                </p>
              )}
            </div>
          );
        })}
      </div>
      {state.fieldErrors.length > 0 && (
        <p class="error" role="alert">
          Not saved: {state.fieldErrors.length === 1 ? 'a field needs' : 'some fields need'} changing.
        </p>
      )}
      {state.error !== null && <ErrorMessage error={state.error} />}
      {state.saved && (
        <div role="status" class="saved">
          <p>
            Saved {resource.noun} <a href={`${BASE}/setup?kind=${resource.key}${resource.update.length ? `&id=${encodeURIComponent(state.saved.id)}` : ''}`}>{state.saved.id}</a>.
          </p>
          {typeof state.saved.key === 'string' && (
            <p>
              The key (shown once, copy it now): <code data-testid="issued-key">{state.saved.key}</code>
            </p>
          )}
        </div>
      )}
      <div class="toolbar">
        <button type="submit" disabled={state.busy}>
          {state.busy ? 'Saving…' : creating ? `Create ${resource.noun}` : 'Save changes'}
        </button>
        <a href={`${BASE}/setup?kind=${resource.key}`}>Back to {resource.label.toLowerCase()}</a>
      </div>
    </form>
  );
}

/** `events.0.currency` → `events` */
function topField(path: string): string {
  return path.split('.')[0] ?? path;
}
