/**
 * Errors of the demo fleet: a cluster name the demo needs that another cluster holds, a state file it cannot read, a
 * catalog without the versions the fleet is made of.
 */
import { KupError } from '../errors/kup-error.ts';
import type { KupErrorKind } from '../errors/kup-error.ts';

/** Stable codes of demo fleet errors, by what went wrong. */
export const DemoFleetErrorCode = {
  /** A cluster of a demo cluster's name is registered with another kubeconfig. */
  nameTaken: 'KUP-DEMO-001',
  /** The fleet's state file cannot be read or does not hold what the fleet wrote. */
  state: 'KUP-DEMO-002',
  /** The catalog has no version for one of the fleet's clusters (no supported or no expired minor). */
  catalog: 'KUP-DEMO-003',
} as const;
/** One of DemoFleetErrorCode's keys. */
export type DemoFleetErrorReason = keyof typeof DemoFleetErrorCode;

const KIND: Readonly<Record<DemoFleetErrorReason, KupErrorKind>> = {
  nameTaken: 'conflict',
  state: 'failed',
  catalog: 'failed',
};

/** A failure to start the demo fleet, e.g. `KUP-DEMO-001: cluster "prod" is registered with ...`. */
export class DemoFleetError extends KupError<
  (typeof DemoFleetErrorCode)[DemoFleetErrorReason],
  { readonly cluster?: string; readonly path?: string }
> {
  override readonly name = 'DemoFleetError';
  readonly reason: DemoFleetErrorReason;

  constructor(
    reason: DemoFleetErrorReason,
    message: string,
    details: { cluster?: string; path?: string } = {},
    options: { cause?: unknown } = {},
  ) {
    super(DemoFleetErrorCode[reason], message, { kind: KIND[reason], cause: options.cause, details });
    this.reason = reason;
  }
}
