/**
 * The one clock of kup and kube-sim: the time, timers and cancellable sleeps. Everything that waits (the executor's
 * polls and lease renewals, drains' backoff and deadlines, providers' polling, kube-sim's controllers) reads time
 * through a Clock passed to it, so a test moves time with a {@link ManualClock} instead of sleeping.
 *
 * This folder is shared: kube-sim may import it (it holds no kup concept), as it may `src/k8s/`.
 */

/** Cancels a timer; calling it after the timer ran, or twice, does nothing. */
export type Cancel = () => void;

/** Options of {@link Clock.after}. */
export interface TimerOptions {
  /**
   * Whether a pending timer keeps the process alive (Node's `ref`). Idle timers (a watch that closes after a while
   * unused) pass false, so a command that is done exits.
   * @default true
   */
  keepAlive?: boolean;
}

/** Time, timers and sleeps. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once `ms` have passed (0: on a later turn of the event loop); returns its cancel. */
  after(ms: number, fn: () => void, options?: TimerOptions): Cancel;
  /** Resolves after `ms`; rejects with the signal's reason (an Error) when it aborts first, or already has. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The reason an aborted signal carries, as an Error. */
export function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(typeof reason === 'string' ? reason : 'aborted');
}

/** A sleep built on a clock's timers: what every Clock's `sleep` is. */
export function sleepOn(after: Clock['after'], ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      cancel();
      reject(abortError(signal));
    };
    const cancel = after(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const systemAfter: Clock['after'] = (ms, fn, options) => {
  const timer = setTimeout(fn, Math.max(0, ms));
  if (options?.keepAlive === false) timer.unref();
  return () => clearTimeout(timer);
};

/** The wall clock: Date.now and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  after: systemAfter,
  sleep: (ms, signal) => sleepOn(systemAfter, ms, signal),
};
