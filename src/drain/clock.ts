/**
 * The wall clock, the default DrainClock.
 */
import { abortableSleep } from '../kube-api/rate-limiter.ts';
import type { DrainClock } from './types.ts';

/** Date.now and setTimeout. */
export const systemClock: DrainClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => abortableSleep(ms, signal),
};
