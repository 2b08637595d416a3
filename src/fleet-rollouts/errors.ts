/**
 * Errors of fleet rollouts: a spec that cannot be used, a command the rollout cannot take now, a persisted state that
 * cannot be read back. Each carries a stable code at the start of its message.
 *
 * @module
 */
import { KupError } from '../errors/kup-error.ts';

/** Stable codes of {@link RolloutError}. */
export const RolloutErrorCode = {
  /** The spec is malformed, or a stage selects no cluster or names one that is not registered. */
  invalidSpec: 'KUP-ROLLOUT-001',
  /** The command is not allowed in the rollout's current status. */
  notAllowed: 'KUP-ROLLOUT-002',
  /** A persisted rollout state cannot be read back. */
  invalidState: 'KUP-ROLLOUT-003',
  /** No rollout has that id. */
  notFound: 'KUP-ROLLOUT-004',
} as const;
/** One of RolloutErrorCode's values. */
export type RolloutErrorCode = (typeof RolloutErrorCode)[keyof typeof RolloutErrorCode];

const KIND = {
  'KUP-ROLLOUT-001': 'invalid-input',
  'KUP-ROLLOUT-002': 'conflict',
  'KUP-ROLLOUT-003': 'internal',
  'KUP-ROLLOUT-004': 'not-found',
} as const;

/** What a rollout error is about. */
export interface RolloutErrorDetails {
  readonly rollout?: string;
  /** JSON path of the spec field at fault. */
  readonly field?: string;
  readonly phase?: string;
}

/** A fleet rollout refused a spec or a command. */
export class RolloutError extends KupError<RolloutErrorCode, RolloutErrorDetails> {
  override readonly name = 'RolloutError';
  constructor(code: RolloutErrorCode, message: string, details: RolloutErrorDetails = {}) {
    super(code, message, { kind: KIND[code], details });
  }
}
