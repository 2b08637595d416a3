/**
 * Errors of the prechecks. Findings are data, never errors: these are for input that makes a run impossible (an
 * unknown target, a bad acknowledgement) and for cancellation.
 *
 * @module
 */
import { KupError } from '../errors/kup-error.ts';

/** Stable codes of {@link PrecheckError}. */
export type PrecheckErrorCode =
  /** An acknowledgement cannot be read or names an unknown rule. */
  | 'KUP-PRECHECK-001'
  /** The target version cannot be used: not a version, not in the catalog, or refused by the path planner. */
  | 'KUP-PRECHECK-002'
  /** A run option is wrong (batch policy, output format). */
  | 'KUP-PRECHECK-003'
  /** The run was cancelled. */
  | 'KUP-PRECHECK-004';

/** A precheck run could not be made; the message starts with the code and names the bad input. */
export class PrecheckError extends KupError<PrecheckErrorCode> {
  override readonly name = 'PrecheckError';
  constructor(code: PrecheckErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { kind: code === 'KUP-PRECHECK-004' ? 'cancelled' : 'invalid-input', cause: options?.cause });
  }

  /** True for errors of the caller's input (exit code 2 on the command line). */
  get isInputError(): boolean {
    return this.kind === 'invalid-input';
  }
}
