/**
 * Errors of the run state machine: an operator command the run cannot take now, a rollback that is impossible, a
 * persisted state that cannot be read back. Each carries a stable code at the start of its message.
 *
 * @module
 */
import { KupError } from '../../errors/kup-error.ts';
import type { RunPhase } from './types.ts';

/** Stable codes of {@link RunTransitionError}. */
export const RunErrorCode = {
  /** The event is not allowed in the run's current status (resume a run that is not paused, ...). */
  notAllowed: 'KUP-RUN-001',
  /** A rollback is impossible or not possible yet; `reason` says why. */
  rollbackRefused: 'KUP-RUN-002',
  /** A persisted state cannot be read back (not a run state, or another schema). */
  invalidState: 'KUP-RUN-003',
  /** The executor reported something the machine cannot use (a replacement without the new node's name). */
  invalidEvent: 'KUP-RUN-004',
} as const;
/** One of RunErrorCode's values. */
export type RunErrorCode = (typeof RunErrorCode)[keyof typeof RunErrorCode];

/** Why a rollback was refused. */
export type RollbackRefusal =
  /** Past the point of no return and the run has no snapshot to restore. */
  | 'no-snapshot'
  /** Steps are still running: pause and let them finish first. */
  | 'in-flight'
  /** The run is still going: pause or cancel it first. */
  | 'not-stopped'
  /** Nothing was changed yet. */
  | 'nothing-changed'
  /** The run is rolling back or rolled back already. */
  | 'already-rolled-back';

/** An event the run state machine refuses. The state is unchanged (the transition threw). */
export class RunTransitionError extends KupError<RunErrorCode, RunTransitionErrorDetails> {
  override readonly name = 'RunTransitionError';
  constructor(code: RunErrorCode, message: string, details: RunTransitionErrorDetails = {}) {
    super(code, message, {
      // A command the run cannot take now is refused by its state; a state or event the machine cannot read is kup's
      // own data gone wrong.
      kind: code === RunErrorCode.notAllowed || code === RunErrorCode.rollbackRefused ? 'conflict' : 'internal',
      details,
    });
  }
}

/** What a {@link RunTransitionError} is about. */
export interface RunTransitionErrorDetails {
  readonly runId?: string;
  readonly phase?: RunPhase;
  readonly event?: string;
  readonly refusal?: RollbackRefusal;
}
