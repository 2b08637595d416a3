/**
 * A token bucket that spaces requests to the API server (client-go's 5 QPS / burst 10 is the default kubectl lives
 * with; kup makes it a setting).
 */

/** Options of a rate limiter. */
export interface RateLimiterOptions {
  /** Requests per second. @default 50 */
  qps?: number;
  /** Requests that may go at once after a quiet time. @default 100 */
  burst?: number;
  /** The clock. @default Date.now */
  now?: () => number;
}

/** A token bucket; `acquire` waits for a token or rejects when the signal aborts. */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private readonly qps: number;
  private readonly burst: number;
  private readonly now: () => number;

  constructor(options: RateLimiterOptions = {}) {
    this.qps = options.qps ?? 50;
    this.burst = options.burst ?? 100;
    this.now = options.now ?? Date.now;
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Waits until a request may go. */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    for (;;) {
      const now = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = Math.ceil(((1 - this.tokens) * 1000) / this.qps);
      await abortableSleep(waitMs, signal);
    }
  }
}

/** Sleeps `ms`, rejecting with the signal's reason when it aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(asError(signal.reason));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(asError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(typeof reason === 'string' ? reason : 'aborted');
}
