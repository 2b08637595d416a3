/**
 * When an automatic upgrade may run: inside a maintenance window and outside every exclusion that holds back that
 * kind of upgrade. A cluster without a window gets no automatic run at all (kup never picks a time for the operator);
 * the upgrade information says so.
 *
 * @module
 */
import { MaintenanceError, MaintenanceErrorCode } from './errors.ts';
import type { MaintenanceExclusion, ResolvedExclusion, UpgradeKind } from './exclusions.ts';
import { parseExclusion, resolveExclusion, scopeHolds } from './exclusions.ts';
import type { Interval, MaintenanceWindow } from './windows.ts';
import { parseWindow, windowAt, windowIntervals } from './windows.ts';

const DAY = 86_400_000;

/** A cluster's windows and exclusions. */
export interface MaintenanceSchedule {
  readonly windows: readonly MaintenanceWindow[];
  readonly exclusions: readonly MaintenanceExclusion[];
}

/** No window, no exclusion: no automatic upgrade ever starts. */
export const EMPTY_SCHEDULE: MaintenanceSchedule = { windows: [], exclusions: [] };

/**
 * Validates a schedule as read from JSON, naming the field at fault (`windows[1].start`, `exclusions[0].end`).
 * @throws {MaintenanceError}
 */
export function parseSchedule(input: unknown): MaintenanceSchedule {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new MaintenanceError(
      MaintenanceErrorCode.invalidWindow,
      '$',
      'must be an object with windows and exclusions',
    );
  const s = input as Record<string, unknown>;
  const list = (key: string): unknown[] => {
    const v = s[key];
    if (v === undefined) return [];
    if (!Array.isArray(v))
      throw new MaintenanceError(
        key === 'windows' ? MaintenanceErrorCode.invalidWindow : MaintenanceErrorCode.invalidExclusion,
        key,
        'must be a list',
      );
    return v;
  };
  const windows = list('windows').map((w, i) => parseWindow(w, `windows[${i}]`));
  const exclusions = list('exclusions').map((e, i) => parseExclusion(e, `exclusions[${i}]`));
  const names = new Set<string>();
  exclusions.forEach((e, i) => {
    if (names.has(e.name))
      throw new MaintenanceError(
        MaintenanceErrorCode.invalidExclusion,
        `exclusions[${i}].name`,
        `${e.name} is used twice`,
      );
    names.add(e.name);
  });
  return { windows, exclusions };
}

/** Where an upgrade of some kind stands at one instant. */
export interface ScheduleStatus {
  /** The window open now (joined with those it touches), whether or not an exclusion holds the upgrade. */
  readonly window: Interval | undefined;
  /** The period, open now, in which the upgrade may run: the window minus the exclusions that hold it. */
  readonly open: Interval | undefined;
  /** The next period in which it may run, after `now` (after `open` when one is open). */
  readonly next: Interval | undefined;
  /** Exclusions in force now that hold this kind of upgrade. */
  readonly heldBy: readonly ResolvedExclusion[];
}

/**
 * The periods in `[from, to)` in which an upgrade of `kind` may run, oldest first: the windows with every
 * exclusion that holds it cut out.
 */
export function openPeriods(schedule: MaintenanceSchedule, kind: UpgradeKind, from: number, to: number): Interval[] {
  const holding = schedule.exclusions.map(resolveExclusion).filter((e) => scopeHolds(e.scope, kind));
  let periods = windowIntervals(schedule.windows, from, to);
  for (const e of holding) periods = periods.flatMap((p) => subtract(p, e));
  return periods;
}

/**
 * Where an upgrade of `kind` stands at `now`: the open window, the period it may run in, the next one (looking up to
 * `horizonDays` ahead) and the exclusions holding it.
 * @default horizonDays 400 (an exclusion may last months)
 */
export function scheduleStatus(
  schedule: MaintenanceSchedule,
  kind: UpgradeKind,
  now: number,
  horizonDays = 400,
): ScheduleStatus {
  const heldBy = schedule.exclusions
    .map(resolveExclusion)
    .filter((e) => scopeHolds(e.scope, kind) && e.start <= now && now < e.end);
  const window = windowAt(schedule.windows, now);
  let open: Interval | undefined;
  let next: Interval | undefined;
  // Look ahead a month at a time: the next period is nearly always within days, and an exclusion of months costs
  // a few more rounds rather than a year of occurrences every time.
  for (let from = now; from < now + horizonDays * DAY && next === undefined; from += 28 * DAY) {
    for (const p of openPeriods(schedule, kind, from, from + 28 * DAY)) {
      if (p.start <= now && now < p.end) open = p;
      else if (p.start > now && next === undefined) next = p;
    }
    if (schedule.windows.length === 0) break;
  }
  return { window, open, next, heldBy };
}

/** `p` without the part `cut` covers: zero, one or two intervals. */
function subtract(p: Interval, cut: Interval): Interval[] {
  if (cut.end <= p.start || cut.start >= p.end) return [p];
  const out: Interval[] = [];
  if (cut.start > p.start) out.push({ start: p.start, end: cut.start });
  if (cut.end < p.end) out.push({ start: cut.end, end: p.end });
  return out;
}
