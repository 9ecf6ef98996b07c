import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, currentSession, signIn, signOut, whenSignedOut, type Me } from './api';
import { Conversions } from './pages/conversions';
import { Deliveries } from './pages/deliveries';
import { Links } from './pages/links';
import { Overview } from './pages/overview';
import { Reports } from './pages/reports';
import { SessionPage } from './pages/session';
import { Sessions } from './pages/sessions';
import { Setup } from './pages/setup';
import { BASE, onLinkClick, useLocation } from './router';
import { ErrorMessage, Loading } from './ui';
import './styles.css';

const PAGES = [
  { path: '/', label: 'Overview' },
  { path: '/reports', label: 'Reports' },
  { path: '/sessions', label: 'Sessions' },
  { path: '/conversions', label: 'Conversions' },
  { path: '/deliveries', label: 'Deliveries' },
  { path: '/links', label: 'Links' },
  { path: '/setup', label: 'Setup' },
] as const;

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    whenSignedOut(() => setMe(null));
    currentSession().then(setMe, setError);
  }, []);
  if (error) return <ErrorMessage error={error} />;
  if (me === undefined) return <Loading what="your session" />;
  if (me === null) return <SignIn onSignedIn={setMe} />;
  return <Shell me={me} onSignedOut={() => setMe(null)} />;
}

function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState('');
  const [state, setState] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const fieldError = state.error instanceof ApiError ? (state.error.fields.find((f) => f.path === 'key')?.message ?? state.error.message) : null;
  return (
    <main class="sign-in">
      <h1>Sign in to clicktrail</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setState({ busy: true, error: null });
          try {
            const me = await signIn(key);
            setKey('');
            onSignedIn(me);
          } catch (error) {
            setState({ busy: false, error });
          }
        }}
      >
        <label for="api-key">API key</label>
        <input id="api-key" name="key" type="password" autocomplete="off" value={key} required aria-describedby="api-key-help" aria-invalid={fieldError ? true : undefined} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        <p id="api-key-help" class="hint">
          An operator, advertiser or publisher key. It is exchanged for a session cookie and not kept in this browser.
        </p>
        {fieldError && (
          <p class="error" role="alert">
            {fieldError}
          </p>
        )}
        {state.error !== null && !(state.error instanceof ApiError) && <ErrorMessage error={state.error} />}
        <button type="submit" disabled={state.busy}>
          {state.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function Shell({ me, onSignedOut }: { me: Me; onSignedOut: () => void }) {
  const loc = useLocation();
  const first = useRef(true);
  // A new page moves keyboard and screen-reader focus to its content, as a page load would.
  useEffect(() => {
    if (first.current) first.current = false;
    else document.getElementById('main')?.focus();
  }, [loc.path]);
  const sessionMatch = /^\/sessions\/([^/]+)$/.exec(loc.path);
  const current = sessionMatch ? '/sessions' : loc.path;
  const page = sessionMatch ? (
    <SessionPage me={me} id={decodeURIComponent(sessionMatch[1]!)} />
  ) : loc.path === '/reports' ? (
    <Reports me={me} params={loc.params} />
  ) : loc.path === '/sessions' ? (
    <Sessions me={me} params={loc.params} />
  ) : loc.path === '/conversions' ? (
    <Conversions me={me} params={loc.params} />
  ) : loc.path === '/links' ? (
    <Links me={me} params={loc.params} />
  ) : loc.path === '/setup' ? (
    <Setup me={me} params={loc.params} />
  ) : loc.path === '/deliveries' && me.kind !== 'advertiser' ? (
    <Deliveries me={me} params={loc.params} />
  ) : loc.path === '/' ? (
    <Overview me={me} params={loc.params} />
  ) : (
    <p role="alert">There is no page at {loc.path}.</p>
  );
  return (
    <div class="shell" onClick={(e) => onLinkClick(e as unknown as MouseEvent)}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">clicktrail</span>
        <nav aria-label="Main">
          {PAGES.filter((p) => p.path !== '/deliveries' || me.kind !== 'advertiser').map((p) => (
            <a key={p.path} href={`${BASE}${p.path === '/' ? '/' : p.path}`} aria-current={current === p.path ? 'page' : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="who">
          {me.kind}
          {me.account_id ? ` ${me.account_id}` : ''}
        </span>
        <button
          type="button"
          onClick={async () => {
            await signOut().catch(() => undefined);
            onSignedOut();
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('root')!);
