/**
 * Maintenance exclusions: a period in which automatic upgrades of some kind must not run, whatever the windows say
 * (a release freeze, a sales peak). The scopes follow GKE's: no upgrades at all, no minor upgrades (patches still
 * go), no node upgrades (worker pools keep their version and image; a control-plane patch still goes).
 *
 * @module
 */
import { MaintenanceError, MaintenanceErrorCode } from './errors.ts';
import { addDays, checkTimeZone, instantOf } from './time-zone.ts';
import type { Interval } from './windows.ts';

/** What an exclusion holds back. */
export const EXCLUSION_SCOPES = ['no-upgrades', 'no-minor-upgrades', 'no-node-upgrades'] as const;

/** What an exclusion holds back. */
export type ExclusionScope = (typeof EXCLUSION_SCOPES)[number];

/** An exclusion as the operator writes it. */
export interface MaintenanceExclusion {
  /** Unique among the cluster's exclusions; how the operator removes it and how kup names it. */
  readonly name: string;
  /** An RFC 3339 time (`2026-11-27T00:00:00Z`, `2026-11-27T00:00+01:00`) or a day `YYYY-MM-DD` (its start). */
  readonly start: string;
  /** An RFC 3339 time, or a day `YYYY-MM-DD` (the exclusion lasts to that day's end). */
  readonly end: string;
  readonly scope: ExclusionScope;
  /** The zone in which plain days are read. @default 'UTC' */
  readonly timeZone?: string;
}

/** What an upgrade changes, for deciding which exclusions hold it. */
export interface UpgradeKind {
  /** The control plane moves to another minor. */
  readonly minor: boolean;
  /** Worker nodes change (version or machine image). */
  readonly nodes: boolean;
}

/** An exclusion with its period resolved to instants. */
export interface ResolvedExclusion extends Interval {
  readonly name: string;
  readonly scope: ExclusionScope;
}

const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Validates an exclusion as read from JSON (a request body, flags, the store), naming the field at fault.
 * @throws {MaintenanceError} `KUP-MAINT-003`, or `-002` for an unknown zone.
 */
export function parseExclusion(input: unknown, field = 'exclusion'): MaintenanceExclusion {
  const bad = (path: string, message: string): never => {
    throw new MaintenanceError(MaintenanceErrorCode.invalidExclusion, path, message);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad(field, 'must be an object');
  const e = input as Record<string, unknown>;
  if (typeof e.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(e.name))
    bad(`${field}.name`, `${JSON.stringify(e.name)} is not a name (lowercase letters, digits, '-' and '.', up to 63)`);
  if (typeof e.scope !== 'string' || !(EXCLUSION_SCOPES as readonly string[]).includes(e.scope))
    bad(`${field}.scope`, `${JSON.stringify(e.scope)} is not one of ${EXCLUSION_SCOPES.join(', ')}`);
  let timeZone: string | undefined;
  if (e.timeZone !== undefined) {
    if (typeof e.timeZone !== 'string') bad(`${field}.timeZone`, 'must be an IANA time zone, e.g. Europe/Berlin');
    timeZone = checkTimeZone(e.timeZone as string, `${field}.timeZone`);
  }
  const start = instantOfText(e.start, timeZone ?? 'UTC', 'start', `${field}.start`, bad);
  const end = instantOfText(e.end, timeZone ?? 'UTC', 'end', `${field}.end`, bad);
  if (end <= start) bad(`${field}.end`, `${JSON.stringify(e.end)} is not after the start ${JSON.stringify(e.start)}`);
  return {
    name: e.name as string,
    start: e.start as string,
    end: e.end as string,
    scope: e.scope as ExclusionScope,
    ...(timeZone !== undefined ? { timeZone } : {}),
  };
}

/** The exclusion's period as instants (the exclusion must have passed {@link parseExclusion}). */
export function resolveExclusion(exclusion: MaintenanceExclusion): ResolvedExclusion {
  const fail = (path: string, message: string): never => {
    throw new MaintenanceError(MaintenanceErrorCode.invalidExclusion, path, message);
  };
  const zone = exclusion.timeZone ?? 'UTC';
  return {
    name: exclusion.name,
    scope: exclusion.scope,
    start: instantOfText(exclusion.start, zone, 'start', `exclusions.${exclusion.name}.start`, fail),
    end: instantOfText(exclusion.end, zone, 'end', `exclusions.${exclusion.name}.end`, fail),
  };
}

/** Whether an exclusion of `scope` holds back an upgrade of `kind`. */
export function scopeHolds(scope: ExclusionScope, kind: UpgradeKind): boolean {
  switch (scope) {
    case 'no-upgrades':
      return true;
    case 'no-minor-upgrades':
      return kind.minor;
    case 'no-node-upgrades':
      return kind.nodes;
  }
}

function instantOfText(
  value: unknown,
  timeZone: string,
  edge: 'start' | 'end',
  field: string,
  bad: (path: string, message: string) => never,
): number {
  if (typeof value === 'string') {
    const day = DAY_PATTERN.exec(value);
    if (day) {
      const date = { year: Number(day[1]), month: Number(day[2]), day: Number(day[3]) };
      const check = new Date(Date.UTC(date.year, date.month - 1, date.day));
      if (check.getUTCMonth() + 1 === date.month && check.getUTCDate() === date.day)
        return instantOf(timeZone, edge === 'end' ? addDays(date, 1) : date, 0);
    } else if (INSTANT_PATTERN.test(value)) {
      const t = Date.parse(value);
      if (!Number.isNaN(t)) return t;
    }
  }
  return bad(
    field,
    `${JSON.stringify(value)} is not a day YYYY-MM-DD or an RFC 3339 time such as 2026-11-27T00:00:00Z`,
  );
}
