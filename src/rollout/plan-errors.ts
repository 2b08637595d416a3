/**
 * Why a plan cannot be made: one error class with stable codes.
 *
 * @module
 */
import { KupError } from '../errors/kup-error.ts';

/** Stable codes of {@link PlanError}. */
export const PlanErrorCode = {
  /** An option cannot be used: a batch policy, a surge value, a soak, an estimate. */
  invalidOption: 'KUP-PLAN-001',
  /** The path or the images name a pool, or a version, that the topology does not have. */
  topologyMismatch: 'KUP-PLAN-002',
  /** The topology itself cannot be read (a version that is not one, a duplicate node). */
  invalidTopology: 'KUP-PLAN-003',
} as const;
/** One of PlanErrorCode's values. */
export type PlanErrorCode = (typeof PlanErrorCode)[keyof typeof PlanErrorCode];

/** A plan that cannot be made; the message starts with the code and names the pool, node or option. */
export class PlanError extends KupError<
  PlanErrorCode,
  { readonly cluster: string; readonly pool?: string; readonly node?: string }
> {
  override readonly name = 'PlanError';
  constructor(
    code: PlanErrorCode,
    message: string,
    details: { readonly cluster: string; readonly pool?: string; readonly node?: string } = { cluster: '' },
    options?: { cause?: unknown },
  ) {
    // Options and the pools or versions asked for are the caller's input; a topology that cannot be read is the
    // cluster's (or its provider's) answer.
    const kind = code === PlanErrorCode.invalidTopology ? 'failed' : 'invalid-input';
    super(code, message, { kind, details, cause: options?.cause });
  }
}
