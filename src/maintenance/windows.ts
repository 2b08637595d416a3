/**
 * Maintenance windows: recurring periods (days of the week, a local start time, a duration, an IANA time zone) in
 * which kup may start and run automatic upgrades. A cluster may have several; where they overlap or touch they make
 * one continuous window.
 *
 * The start is wall-clock time in the window's zone, resolved across DST changes as `time-zone.ts` says; the duration
 * is elapsed time (a 4-hour window on the night the clocks go back still lasts 4 hours), as GKE's and AKS's are.
 * Intervals are half-open, `[start, end)`, in ms since the epoch.
 *
 * @module
 */
import { MaintenanceError, MaintenanceErrorCode } from './errors.ts';
import { addDays, checkTimeZone, instantOf, localDateOf, weekdayOf } from './time-zone.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Days of the week as windows name them, Sunday first (the index is `Date.getUTCDay`'s). */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** A day of the week. */
export type Weekday = (typeof WEEKDAYS)[number];

/** Shortest window: long enough to drain and replace a node. */
export const MIN_WINDOW_MINUTES = 15;
/** Longest window: a week (a longer one would always be open). */
export const MAX_WINDOW_MINUTES = 7 * 24 * 60;

/** A recurring maintenance window. */
export interface MaintenanceWindow {
  /** Days it starts on, in its zone. */
  readonly days: readonly Weekday[];
  /** Local start time, `HH:MM` (24-hour). */
  readonly start: string;
  /** How long it lasts, in minutes of elapsed time. */
  readonly durationMinutes: number;
  /** IANA time zone of `days` and `start`, e.g. `Europe/Berlin`. */
  readonly timeZone: string;
}

/** A period of time, `[start, end)` in ms since the epoch. */
export interface Interval {
  readonly start: number;
  readonly end: number;
}

/**
 * Validates a window as read from JSON (a request body, a flag, the store), naming the field at fault, and returns it
 * with its zone's canonical spelling and its days in week order.
 * @throws {MaintenanceError} `KUP-MAINT-001` or `-002`.
 */
export function parseWindow(input: unknown, field = 'window'): MaintenanceWindow {
  const bad = (path: string, message: string): never => {
    throw new MaintenanceError(MaintenanceErrorCode.invalidWindow, path, message);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) bad(field, 'must be an object');
  const w = input as Record<string, unknown>;
  const days = w.days;
  if (!Array.isArray(days) || days.length === 0)
    bad(`${field}.days`, `must list at least one of ${WEEKDAYS.join(', ')}`);
  const seen = new Set<Weekday>();
  (days as unknown[]).forEach((d, i) => {
    const day = typeof d === 'string' ? DAY_NAMES.get(d.toLowerCase()) : undefined;
    if (day === undefined)
      bad(`${field}.days[${i}]`, `${JSON.stringify(d)} is not a day of the week (${WEEKDAYS.join(', ')})`);
    else seen.add(day);
  });
  if (typeof w.start !== 'string' || parseStart(w.start) === undefined)
    bad(`${field}.start`, `${JSON.stringify(w.start)} is not a time of day HH:MM (00:00 to 23:59)`);
  const duration = w.durationMinutes;
  if (
    typeof duration !== 'number' ||
    !Number.isInteger(duration) ||
    duration < MIN_WINDOW_MINUTES ||
    duration > MAX_WINDOW_MINUTES
  )
    bad(
      `${field}.durationMinutes`,
      `${JSON.stringify(duration)} is not a whole number of minutes from ${MIN_WINDOW_MINUTES} to ${MAX_WINDOW_MINUTES} (a week)`,
    );
  if (typeof w.timeZone !== 'string') bad(`${field}.timeZone`, 'must be an IANA time zone, e.g. Europe/Berlin');
  return {
    days: WEEKDAYS.filter((d) => seen.has(d)),
    start: w.start as string,
    durationMinutes: duration as number,
    timeZone: checkTimeZone(w.timeZone as string, `${field}.timeZone`),
  };
}

const FULL_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
/** `mon` and `monday` (any case) are Monday. */
const DAY_NAMES = new Map<string, Weekday>(
  WEEKDAYS.flatMap(
    (d, i) =>
      [
        [d, d],
        [FULL_NAMES[i] ?? d, d],
      ] as const,
  ),
);

/** Minutes after midnight of `HH:MM`, or undefined when it is not one. */
function parseStart(text: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

/** Each start of `window` whose occurrence overlaps `[from, to)`, as intervals, oldest first. */
function occurrencesOf(window: MaintenanceWindow, from: number, to: number): Interval[] {
  const minute = parseStart(window.start) ?? 0;
  const length = window.durationMinutes * MINUTE;
  const days = new Set(window.days.map((d) => WEEKDAYS.indexOf(d)));
  const out: Interval[] = [];
  // Local days from the one on which an occurrence still open at `from` could have started, to the day after `to`.
  const last = localDateOf(window.timeZone, to + DAY);
  for (let date = localDateOf(window.timeZone, from - length - DAY); ; date = addDays(date, 1)) {
    if (days.has(weekdayOf(date))) {
      const start = instantOf(window.timeZone, date, minute);
      if (start < to && start + length > from) out.push({ start, end: start + length });
    }
    if (date.year === last.year && date.month === last.month && date.day === last.day) break;
  }
  return out;
}

/** Sorts intervals and joins those that overlap or touch. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const i of sorted) {
    const prev = out[out.length - 1];
    if (prev !== undefined && i.start <= prev.end)
      out[out.length - 1] = { start: prev.start, end: Math.max(prev.end, i.end) };
    else out.push(i);
  }
  return out;
}

/**
 * The windows' open periods overlapping `[from, to)`, overlapping and touching ones joined, oldest first. A period is
 * whole even where it reaches outside `[from, to)` (up to a week either side, for windows that chain without a gap).
 */
export function windowIntervals(windows: readonly MaintenanceWindow[], from: number, to: number): Interval[] {
  // A week either side, so that a period joined from occurrences outside [from, to) is whole.
  const margin = MAX_WINDOW_MINUTES * MINUTE;
  const all = windows.flatMap((w) => occurrencesOf(w, from - margin, to + margin));
  return mergeIntervals(all).filter((i) => i.start < to && i.end > from);
}

/** The window open at `now` (its whole joined period), or undefined when none is. */
export function windowAt(windows: readonly MaintenanceWindow[], now: number): Interval | undefined {
  return windowIntervals(windows, now, now + 1).find((i) => i.start <= now && now < i.end);
}

/**
 * The next window that opens after `now` (not the one open at `now`), looking at most `horizonDays` ahead.
 * @default horizonDays 35
 */
export function nextWindow(windows: readonly MaintenanceWindow[], now: number, horizonDays = 35): Interval | undefined {
  return windowIntervals(windows, now, now + horizonDays * DAY).find((i) => i.start > now);
}
