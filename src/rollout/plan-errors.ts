/**
 * Why a plan cannot be made: one error class with stable codes.
 *
 * @module
 */

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
export class PlanError extends Error {
  override readonly name = 'PlanError';
  constructor(
    readonly code: PlanErrorCode,
    message: string,
    readonly details: { readonly cluster: string; readonly pool?: string; readonly node?: string } = { cluster: '' },
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}
