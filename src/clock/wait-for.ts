/**
 * Waiting for something to happen, for tests: the one polling loop. It polls in real time on purpose: what it waits
 * for is done by another process (a kube-sim server, kubectl, an executor) or by work on the event loop, not by a
 * clock the test moves. To show that nothing more happens, wait for an idle signal instead (`runtime.idle()`).
 */

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** What the wait is for, as the failure says it ("the pod to be Running"); a function is asked at the timeout. */
  message: string | (() => string | Promise<string>);
  /** How long to wait before failing. @default 5000 */
  timeoutMs?: number;
  /** Pause between checks. @default 10 */
  intervalMs?: number;
}

/** Not there yet: what a condition returns while the wait goes on. */
type NotYet = undefined | null | false;

/**
 * Resolves with the first value `condition` returns that is not undefined, null or false. A condition that throws
 * counts as not yet (the server may not answer yet); the last error is named in the failure. Rejects with an Error
 * saying what it waited for once `timeoutMs` have passed.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitForOptions,
): Promise<Exclude<T, NotYet>> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value as Exclude<T, NotYet>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = typeof options.message === 'string' ? options.message : await options.message();
      const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`, { cause: lastError });
    }
    await new Promise<void>((resolve) => setTimeout(resolve, options.intervalMs ?? 10));
  }
}
