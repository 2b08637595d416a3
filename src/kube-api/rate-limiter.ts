/**
 * A token bucket that spaces requests to the API server (client-go's 5 QPS / burst 10 is the default kubectl lives
 * with; kup makes it a setting).
 */
import type { Clock } from '../clock/clock.ts';
import { systemClock } from '../clock/clock.ts';

/** Options of a rate limiter. */
export interface RateLimiterOptions {
  /** Requests per second. @default 50 */
  qps?: number;
  /** Requests that may go at once after a quiet time. @default 100 */
  burst?: number;
  /** The clock the bucket refills and waits by. @default systemClock */
  clock?: Clock;
}

/** A token bucket; `acquire` waits for a token or rejects when the signal aborts. */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;

  constructor(options: RateLimiterOptions = {}) {
    this.qps = options.qps ?? 50;
    this.burst = options.burst ?? 100;
    this.clock = options.clock ?? systemClock;
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  /** Waits until a request may go. */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = Math.ceil(((1 - this.tokens) * 1000) / this.qps);
      await this.clock.sleep(waitMs, signal);
    }
  }
}
