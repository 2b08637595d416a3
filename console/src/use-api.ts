/**
 * Loads data from the API for a page: the value, the error (shown, never swallowed), and a reload.
 *
 * @module
 */
import { useCallback, useEffect, useState } from 'react';

/** What a page shows while data loads. */
export type Loaded<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'failed'; readonly error: Error }
  | { readonly state: 'ready'; readonly value: T };

/** Options of {@link useApi}. */
export interface UseApiOptions {
  /** Keep showing the last value while a reload or new arguments load (no flash of "Loading"). @default true */
  readonly keepStale?: boolean;
}

const LOADING = { state: 'loading' } as const;

/** Runs `load` when `deps` change and on `reload()`. */
export function useApi<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  { keepStale = true }: UseApiOptions = {},
): [Loaded<T>, () => void] {
  // One object per request: a result belongs to the request it answers. New arguments make a new request during
  // render (React's "adjusting state when a prop changes"), so no render shows the old value as the new one's.
  const [current, setCurrent] = useState(() => ({ deps, request: {} }));
  let request = current.request;
  if (!sameDeps(deps, current.deps)) {
    request = {};
    setCurrent({ deps, request });
  }
  const [result, setResult] = useState<{ readonly request: object; readonly loaded: Loaded<T> } | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal).then(
      (value) => {
        if (!controller.signal.aborted) setResult({ request, loaded: { state: 'ready', value } });
      },
      (err: unknown) => {
        if (!controller.signal.aborted)
          setResult({
            request,
            loaded: { state: 'failed', error: err instanceof Error ? err : new Error(String(err)) },
          });
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [request]);
  const reload = useCallback(() => setCurrent((c) => ({ deps: c.deps, request: {} })), []);
  if (result === null) return [LOADING, reload];
  if (result.request === request) return [result.loaded, reload];
  return [keepStale && result.loaded.state === 'ready' ? result.loaded : LOADING, reload];
}

function sameDeps(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}
