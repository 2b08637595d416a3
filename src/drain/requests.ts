/**
 * The drain's reads and its cordon, retried with backoff: one flaky answer should not fail a drain.
 */
import type { ConfigurationOptions, ObservableMiddleware } from '@kubernetes/client-node';
import type { ClusterConnection } from '../kube-api/connect.ts';
import { isRetryable } from '../kube-api/errors.ts';
import { send } from '../kube-api/requests.ts';
import { backoffDelay } from './backoff.ts';
import type { Clock } from '../clock/clock.ts';

/**
 * `send`, retried with backoff while the error is retryable (network errors, 429, 5xx; never 4xx) up to `tries`
 * attempts in all. For the drain's reads and its cordon, where one flaky answer should not fail a drain.
 */
export function sendWithRetry<T>(
  conn: ClusterConnection,
  signal: AbortSignal | undefined,
  clock: Clock,
  call: (options: ConfigurationOptions<ObservableMiddleware>) => Promise<T>,
  headers?: Record<string, string>,
  tries = 4,
): Promise<T> {
  return withRetry(signal, clock, () => send(conn, signal, call, headers), tries);
}

/** `attempt`, retried with backoff while its error is retryable, as {@link sendWithRetry}. */
export async function withRetry<T>(signal: AbortSignal | undefined, clock: Clock, attempt: () => Promise<T>, tries = 4): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (signal?.aborted || !isRetryable(err) || n + 1 >= tries) throw err;
      await clock.sleep(backoffDelay(n), signal);
    }
  }
}

