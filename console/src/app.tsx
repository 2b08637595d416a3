import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiClient, ApiError } from './api/client.ts';
import type { Identity } from './api/types.ts';
import { ClusterPage } from './pages/cluster-page.tsx';
import { FleetPage } from './pages/fleet-page.tsx';
import { RunPage } from './pages/run-page.tsx';
import { SignInPage } from './pages/sign-in-page.tsx';
import { href, useRoute } from './route.ts';
import { SessionContext, storeToken, storedToken } from './session.ts';
import type { Session } from './session.ts';

type SignIn =
  | { readonly state: 'checking' }
  | { readonly state: 'signed-out'; readonly error?: string }
  | { readonly state: 'signed-in'; readonly api: ApiClient; readonly identity: Identity };

/** The console: sign-in, then the page the URL names. */
export function App() {
  const [signIn, setSignIn] = useState<SignIn>(() => (storedToken() ? { state: 'checking' } : { state: 'signed-out' }));

  const tryToken = useCallback(async (token: string) => {
    const api = new ApiClient(token);
    try {
      const identity = await api.whoami();
      storeToken(token);
      setSignIn({ state: 'signed-in', api, identity });
    } catch (err) {
      storeToken(null);
      const error =
        err instanceof ApiError && err.status === 401 ? 'That token is not valid.' : `Sign-in failed: ${String(err)}`;
      setSignIn({ state: 'signed-out', error });
    }
  }, []);

  // A token kept from earlier in this tab signs in again, if it is still valid.
  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    const api = new ApiClient(token);
    api.whoami().then(
      (identity) => setSignIn({ state: 'signed-in', api, identity }),
      () => {
        storeToken(null);
        setSignIn({ state: 'signed-out' });
      },
    );
  }, []);

  const signOut = useCallback(() => {
    storeToken(null);
    setSignIn({ state: 'signed-out' });
  }, []);

  const session = useMemo<Session | null>(
    () => (signIn.state === 'signed-in' ? { api: signIn.api, identity: signIn.identity, signOut } : null),
    [signIn, signOut],
  );

  if (signIn.state === 'checking') return <p className="centered">Signing in…</p>;
  if (!session)
    return (
      <SignInPage
        onToken={tryToken}
        {...(signIn.state === 'signed-out' && signIn.error ? { error: signIn.error } : {})}
      />
    );
  return (
    <SessionContext.Provider value={session}>
      <Shell />
    </SessionContext.Provider>
  );
}

function Shell() {
  const route = useRoute();
  return (
    <>
      <Header />
      <main id="main">
        {route.page === 'fleet' && <FleetPage />}
        {route.page === 'cluster' && <ClusterPage key={route.cluster} cluster={route.cluster} tab={route.tab} />}
        {route.page === 'run' && <RunPage key={route.runId} runId={route.runId} />}
      </main>
    </>
  );
}

function Header() {
  return (
    <SessionContext.Consumer>
      {(session) =>
        session && (
          <header className="top">
            <a className="skip" href="#main">
              Skip to content
            </a>
            <a className="brand" href={href({ page: 'fleet' })}>
              kup
            </a>
            <nav aria-label="Main">
              <a href={href({ page: 'fleet' })}>Fleet</a>
            </nav>
            <span className="who" aria-label="Signed in as">
              {session.identity.name} <span className="role">{session.identity.role}</span>
            </span>
            <button type="button" className="link" onClick={session.signOut}>
              Sign out
            </button>
          </header>
        )
      }
    </SessionContext.Consumer>
  );
}
