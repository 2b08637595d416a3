/**
 * Why a drain failed, with a stable code in the message and every pod that kept the node from draining named, with
 * the PodDisruptionBudget holding it where there is one (kubectl's "global timeout reached" names neither).
 */
import { KupError } from '../errors/kup-error.ts';
import type { KupErrorKind } from '../errors/kup-error.ts';
import type { ImplicitBudget, PdbRef, PodRef } from './types.ts';
import { formatPdb, formatPod } from './types.ts';
import { healsByRetry } from '../kube-api/errors.ts';

/** Stable codes of drain errors. */
export const DrainErrorCode = {
  /** The node does not exist. */
  nodeNotFound: 'KUP-DRAIN-001',
  /** Pods on the node that drain refuses without a flag (DaemonSet, emptyDir, no controller), as kubectl does. */
  podsRefused: 'KUP-DRAIN-002',
  /** The drain's deadline passed with pods still on the node. */
  timedOut: 'KUP-DRAIN-003',
  /** An eviction (or delete) failed for good: several PDBs on one pod, a webhook refusal, a persistent API error. */
  evictionFailed: 'KUP-DRAIN-004',
  /** The caller's signal aborted the drain. */
  cancelled: 'KUP-DRAIN-005',
  /** A request the drain needs (cordon, list) failed. */
  apiFailure: 'KUP-DRAIN-006',
  /** A label selector (`--pod-selector`) does not parse: see LabelSelectorSyntaxError. */
  invalidSelector: 'KUP-DRAIN-007',
} as const;
/** One of DrainErrorCode's values. */
export type DrainErrorCode = (typeof DrainErrorCode)[keyof typeof DrainErrorCode];

/**
 * Where one pod stood when the drain failed:
 * - `refused`: a filter refused it (`flag` is the kubectl flag that would let the drain take it);
 * - `blocked`: its eviction is refused with 429, by `pdb` when known;
 * - `terminating`: evicted or deleted, but not gone yet;
 * - `failed`: its eviction or delete failed for good;
 * - `pending`: not attempted yet.
 */
export type PodIssueState = 'refused' | 'blocked' | 'terminating' | 'failed' | 'pending';

/** The budget that holds a pod, as the API server or the PDB's status reported it. */
export interface PdbHold {
  pdb: PdbRef;
  /** status.desiredHealthy (the "needs N healthy pods" of the 429). */
  desiredHealthy?: number;
  /** status.currentHealthy (the "has N currently" of the 429). */
  currentHealthy?: number;
}

/** One pod that kept the drain from finishing, and why. */
export interface PodIssue {
  pod: PodRef;
  state: PodIssueState;
  /** What the API server or the filter said. */
  reason: string;
  /** For `refused`: the kubectl flag that lets drain take the pod. */
  flag?: string;
  /** For `blocked`: the PDB(s) holding it (several only with the 500 "more than one PodDisruptionBudget"). */
  holds?: PdbHold[];
  /** For `blocked`: no PDB selects it, and kup's implicit budget holds it (`reason` says so in words). */
  implicit?: ImplicitBudget;
}

/** A drain that did not finish. `nodeCordoned` says plainly how the drain left the node: it never uncordons. */
export class DrainError extends KupError<DrainErrorCode, { readonly node: string; readonly nodeCordoned: boolean }> {
  override readonly name = 'DrainError';
  constructor(
    code: DrainErrorCode,
    message: string,
    readonly node: string,
    readonly nodeCordoned: boolean,
    readonly pods: readonly PodIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, {
      kind: DRAIN_ERROR_KIND[code],
      // Only a failed API request is worth another try as it stands, and only one that may heal (not a 401 or 403,
      // not a certificate that does not verify); a blocked pod needs its budget to change first.
      retryable: code === DrainErrorCode.apiFailure && (options?.cause === undefined || healsByRetry(options.cause)),
      details: { node, nodeCordoned },
      cause: options?.cause,
    });
  }
}

const DRAIN_ERROR_KIND: Readonly<Record<DrainErrorCode, KupErrorKind>> = {
  [DrainErrorCode.nodeNotFound]: 'not-found',
  // kubectl refuses these pods until a flag says to take them: policy, not a fault.
  [DrainErrorCode.podsRefused]: 'rejected',
  [DrainErrorCode.timedOut]: 'failed',
  [DrainErrorCode.evictionFailed]: 'failed',
  [DrainErrorCode.cancelled]: 'cancelled',
  [DrainErrorCode.apiFailure]: 'unavailable',
  [DrainErrorCode.invalidSelector]: 'invalid-input',
};

/** One issue in words: `shop/cart-7d9 blocked by PDB shop/cart-pdb (needs 3 healthy, has 3)`. */
export function describeIssue(issue: PodIssue): string {
  const pod = formatPod(issue.pod);
  switch (issue.state) {
    case 'refused':
      return `${pod} refused: ${issue.reason}${issue.flag ? ` (${issue.flag} takes it)` : ''}`;
    case 'blocked': {
      const holds = issue.holds ?? [];
      if (holds.length === 0) return `${pod} blocked: ${issue.reason}`;
      return `${pod} blocked by ${holds.map(describeHold).join(' and ')}`;
    }
    case 'terminating':
      return `${pod} still terminating`;
    case 'failed':
      return `${pod} failed: ${issue.reason}`;
    case 'pending':
      return `${pod} not evicted yet`;
  }
}

function describeHold(hold: PdbHold): string {
  const counts =
    hold.desiredHealthy !== undefined && hold.currentHealthy !== undefined
      ? ` (needs ${hold.desiredHealthy} healthy, has ${hold.currentHealthy})`
      : '';
  return `PDB ${formatPdb(hold.pdb)}${counts}`;
}

/** `2 pods left: a, b` (or `1 pod left: a`). */
export function describeIssues(issues: readonly PodIssue[], noun = 'left'): string {
  const n = issues.length;
  return `${n} pod${n === 1 ? '' : 's'} ${noun}: ${issues.map(describeIssue).join(', ')}`;
}
