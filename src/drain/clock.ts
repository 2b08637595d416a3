/**
 * The drain's default clock: kup's one wall clock, named here so the drain's callers (the CLI, tests) need not know
 * where the clock lives. Tests pass a ManualClock instead.
 */
export { systemClock } from '../clock/clock.ts';
