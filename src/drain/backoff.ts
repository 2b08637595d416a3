/**
 * How long to wait before asking the API server again: exponential backoff with jitter (kubectl sleeps a fixed 5 s
 * after every 429), and the server's `Retry-After` when it sends one.
 */

/** Shape of a backoff. */
export interface BackoffOptions {
  /** First delay. @default 100 */
  initialMs?: number;
  /** Largest delay. @default 2000 */
  maxMs?: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
  /** Fraction of the delay drawn at random, both ways (0.2 = 80%..120%). @default 0.2 */
  jitter?: number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry): `initialMs * factor^attempt`, capped at `maxMs`,
 * spread by `jitter`. `random` returns a number in [0, 1).
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 2000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.2;
  const base = Math.min(max, initial * factor ** Math.max(0, attempt));
  const spread = base * jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}

/**
 * A `Retry-After` header in milliseconds: delta-seconds (`10`) or an HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | undefined, now: number = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The delay before the next try: the server's Retry-After when it gave one, else the backoff. */
export function retryDelay(
  attempt: number,
  retryAfterHeader: string | undefined,
  options: BackoffOptions = {},
  random: () => number = Math.random,
  now: number = Date.now(),
): number {
  return retryAfterMs(retryAfterHeader, now) ?? backoffDelay(attempt, options, random);
}
