/**
 * Errors of the maintenance domain: a window, an exclusion or an auto-upgrade policy that cannot be used as given.
 * Each carries a stable code at the start of its message and the path of the field at fault.
 *
 * @module
 */
import { KupError } from '../errors/kup-error.ts';

/** Stable codes of {@link MaintenanceError}. */
export const MaintenanceErrorCode = {
  /** A window is malformed: no days, a start that is not `HH:MM`, a duration out of range. */
  invalidWindow: 'KUP-MAINT-001',
  /** A time zone that is not an IANA zone this runtime knows. */
  unknownTimeZone: 'KUP-MAINT-002',
  /** An exclusion is malformed: an unreadable date, an end before its start, an unknown scope. */
  invalidExclusion: 'KUP-MAINT-003',
  /** An auto-upgrade policy is malformed: an unknown channel, a negative minimum age. */
  invalidPolicy: 'KUP-MAINT-004',
} as const;
/** One of MaintenanceErrorCode's values. */
export type MaintenanceErrorCode = (typeof MaintenanceErrorCode)[keyof typeof MaintenanceErrorCode];

/** Maintenance settings that cannot be used; `field` is the JSON path of the value at fault (`windows[1].start`). */
export class MaintenanceError extends KupError<MaintenanceErrorCode, { readonly field: string }> {
  override readonly name = 'MaintenanceError';
  /** JSON path of the value at fault. */
  readonly field: string;

  constructor(code: MaintenanceErrorCode, field: string, message: string) {
    super(code, `${field}: ${message}`, { kind: 'invalid-input', details: { field } });
    this.field = field;
  }
}
