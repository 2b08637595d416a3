/**
 * Virtual time for end-to-end tests of `kup serve` on a ManualClock against kube-sim clusters.
 *
 * kube-sim is a separate server on its own (real, accelerated) clock, reached over HTTPS; kup's service runs on the
 * test's ManualClock. While a run does real work against a cluster, kup still waits on its clock (provider polls,
 * rereads, lease renewals, timeouts), so the test moves the clock in small steps as it waits for an outcome: kup's
 * time then runs at a bounded multiple of real time, and its minutes-long timeouts keep their order against what
 * the clusters do. Long waits with nothing in flight (a soak, the time to the next maintenance window) are crossed
 * with one `advance` instead.
 */
import { waitFor } from '../../src/clock/wait-for.ts';
import type { ManualClock } from '../../src/clock/manual-clock.ts';

/** Options of {@link pumpUntil}. */
export interface PumpOptions {
  /** Virtual time moved between two looks at the condition. @default 250 */
  readonly stepMs?: number;
  /** Real time to wait for the condition before failing. @default 120000 */
  readonly timeoutMs?: number;
}

/**
 * Moves `clock` by `stepMs` at a time until `condition` returns a value (not undefined, null or false), and returns
 * it; fails after `timeoutMs` of real time, saying what it waited for.
 */
export async function pumpUntil<T>(
  clock: ManualClock,
  condition: () => Promise<T>,
  message: string | (() => string | Promise<string>),
  options: PumpOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  return waitFor(
    async () => {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value;
      await clock.advance(options.stepMs ?? 250);
      return undefined;
    },
    { message, timeoutMs: options.timeoutMs ?? 120_000, intervalMs: 5 },
  );
}

/**
 * Moves `clock` by `ms` at once (a soak, the time to the next window), running each timer due at its own time. Between
 * two timers it lets promise callbacks and I/O callbacks already due run (two turns of the event loop), rather than
 * the ManualClock's default of twenty: the service's periodic timers (event polls, scans, status rounds) fire
 * thousands of times in a virtual hour, and what they start over the network is not waited for by either.
 */
export async function leap(clock: ManualClock, ms: number): Promise<void> {
  await clock.advance(ms, turns);
}

async function turns(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
