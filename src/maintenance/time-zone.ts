/**
 * Wall-clock time in an IANA time zone, from the runtime's own zone data (`Intl`): the offset of a zone at an
 * instant, and the instant of a local date and time. No zone rules of our own: a zone's DST changes are whatever the
 * runtime's ICU knows.
 *
 * A local time that does not exist (in the gap of a spring-forward change) is moved forward by the gap, and a local
 * time that happens twice (a fall-back change) is the first of the two: the `compatible` disambiguation of
 * Temporal and of RFC 5545 recurrences, so a window starting at 02:30 on the day Berlin skips 02:00-03:00 starts at
 * 03:30 local time, and one starting at 02:30 on the day it repeats that hour starts at the first 02:30.
 *
 * @module
 */
import { MaintenanceError, MaintenanceErrorCode } from './errors.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** A calendar day, as in the zone's wall clock. `month` is 1-12. */
export interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * Checks that `timeZone` is an IANA zone the runtime knows and returns its canonical spelling.
 * @throws {MaintenanceError} `KUP-MAINT-002` naming `field`.
 */
export function checkTimeZone(timeZone: string, field: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    throw new MaintenanceError(
      MaintenanceErrorCode.unknownTimeZone,
      field,
      `${JSON.stringify(timeZone)} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`,
    );
  }
}

/** The wall-clock fields of `instant` in `timeZone`. */
function wallClock(timeZone: string, instant: number): { date: LocalDate; ms: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const date = { year: parts.year ?? 0, month: parts.month ?? 0, day: parts.day ?? 0 };
  const seconds = (parts.hour ?? 0) * 3600 + (parts.minute ?? 0) * 60 + (parts.second ?? 0);
  return { date, ms: seconds * 1000 + (((instant % 1000) + 1000) % 1000) };
}

/** Milliseconds the zone's wall clock is ahead of UTC at `instant` (+02:00 is 7,200,000). */
export function offsetAt(timeZone: string, instant: number): number {
  const { date, ms } = wallClock(timeZone, instant);
  return Date.UTC(date.year, date.month - 1, date.day) + ms - instant;
}

/** The calendar day of `instant` in `timeZone`. */
export function localDateOf(timeZone: string, instant: number): LocalDate {
  return wallClock(timeZone, instant).date;
}

/** 0 (Sunday) to 6 (Saturday), as `Date.getUTCDay`. */
export function weekdayOf(date: LocalDate): number {
  return new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
}

/** The day `days` after `date` (negative: before). */
export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day) + days * DAY);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * The instant at which the wall clock of `timeZone` shows `date` at `minuteOfDay` (0-1439), with the gap and overlap
 * of DST changes resolved as the module says.
 */
export function instantOf(timeZone: string, date: LocalDate, minuteOfDay: number): number {
  const asUtc = Date.UTC(date.year, date.month - 1, date.day) + minuteOfDay * MINUTE;
  // The offsets that can apply near that wall time: a zone changes its offset at most once in a day either side.
  const before = offsetAt(timeZone, asUtc - DAY);
  const after = offsetAt(timeZone, asUtc + DAY);
  const candidates = [...new Set([before, offsetAt(timeZone, asUtc), after])]
    .map((offset) => asUtc - offset)
    .filter((instant) => offsetAt(timeZone, instant) === asUtc - instant)
    .sort((a, b) => a - b);
  const first = candidates[0];
  if (first !== undefined) return first;
  // In the gap: read the wall time with the offset in force before the change, which lands after the change by as
  // much as the wall time was into the gap (02:30 in a 02:00-03:00 gap is 03:30).
  return asUtc - before;
}
