import { useId, useState } from 'react';
import type { FormEvent } from 'react';

/** Props of {@link SignInPage}. */
export interface SignInPageProps {
  readonly onToken: (token: string) => Promise<void>;
  readonly error?: string;
}

/** Sign-in with an API token (`kup serve` prints an admin token; `kup token create` makes more). */
export function SignInPage({ onToken, error }: SignInPageProps) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim() === '') return;
    setBusy(true);
    void onToken(token.trim()).finally(() => setBusy(false));
  };
  return (
    <main className="sign-in">
      <form onSubmit={submit} aria-labelledby={`${id}-title`}>
        <h1 id={`${id}-title`}>Sign in to kup</h1>
        <label htmlFor={`${id}-token`}>API token</label>
        <input
          id={`${id}-token`}
          type="password"
          autoComplete="current-password"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby={error ? `${id}-error` : undefined}
          aria-invalid={error ? true : undefined}
          required
        />
        {error && (
          <p id={`${id}-error`} role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="hint">
          <code>kup serve</code> prints an admin token when it starts; <code>--admin-token-file</code> writes it to a
          file.
        </p>
      </form>
    </main>
  );
}
