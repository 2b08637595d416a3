/**
 * Errors of a real local control plane: building its programs, starting and stopping them, and the requests of its
 * control API.
 */
import { KupError } from '../errors/kup-error.ts';
import type { KupErrorKind } from '../errors/kup-error.ts';

/** Stable codes of local control-plane errors, by what went wrong. */
export const LocalErrorCode = {
  /** A version, flag or request field that cannot be used as given. */
  invalidInput: 'KUP-LOCAL-001',
  /** Go is missing, or building a program failed. */
  buildFailed: 'KUP-LOCAL-002',
  /** A component did not start, or did not become healthy in time. */
  startFailed: 'KUP-LOCAL-003',
  /** A node, snapshot or operation that does not exist. */
  notFound: 'KUP-LOCAL-004',
  /** The request conflicts with the state (a key reused with other arguments, a name taken). */
  conflict: 'KUP-LOCAL-005',
  /** Refused by the version skew policy. */
  rejected: 'KUP-LOCAL-006',
  /** A snapshot or a restore failed. */
  snapshotFailed: 'KUP-LOCAL-007',
  /** A request the control API does not serve on that path (a wrong HTTP method). */
  notAllowed: 'KUP-LOCAL-008',
} as const;
/** One of LocalErrorCode's keys. */
export type LocalErrorReason = keyof typeof LocalErrorCode;

const KIND: Readonly<Record<LocalErrorReason, KupErrorKind>> = {
  invalidInput: 'invalid-input',
  buildFailed: 'failed',
  startFailed: 'failed',
  notFound: 'not-found',
  conflict: 'conflict',
  rejected: 'rejected',
  snapshotFailed: 'failed',
  notAllowed: 'rejected',
};

/** A failure of the local control plane, e.g. `KUP-LOCAL-003: kube-apiserver 1.36.1 exited 1: ...`. */
export class LocalClusterError extends KupError<(typeof LocalErrorCode)[LocalErrorReason]> {
  override readonly name = 'LocalClusterError';
  readonly reason: LocalErrorReason;

  constructor(reason: LocalErrorReason, message: string, options: { cause?: unknown } = {}) {
    super(LocalErrorCode[reason], message, { kind: KIND[reason], cause: options.cause });
    this.reason = reason;
  }
}
