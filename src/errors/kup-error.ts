/**
 * The base of every kup error. Each area keeps its own named classes with their structured fields (a drain names the
 * node and the pods, a store error the run); what they share lives here, so one place (`codes.ts`) can turn any of
 * them into an exit code or an HTTP status without knowing the classes.
 *
 * Pure: no `node:*` import, so the domain (versions, the run state machine) may derive from it.
 *
 * @module
 */

/**
 * What sort of failure an error is, from the point of view of whoever asked kup to do something. A closed set: the
 * CLI's exit code and the REST API's status are chosen from it, and a client may branch on it.
 * - `invalid-input`: the request cannot be read or used as given (a flag, a version string, a batch policy); fix the
 *   request.
 * - `not-found`: it names a run, cluster, node or snapshot that does not exist.
 * - `conflict`: the request is fine but the state does not allow it now (a run that is not paused, a lease held by
 *   another kup, a concurrent write, a duplicate name).
 * - `rejected`: well formed and the state is current, but policy refuses it (an upgrade path the skew policy forbids,
 *   a capability the provider lacks, pods drain refuses without a flag).
 * - `unauthorized`: credentials were refused.
 * - `forbidden`: credentials were accepted but do not allow the request.
 * - `unavailable`: something kup depends on could not be reached or is overloaded; trying again later may work.
 * - `failed`: the operation ran and did not succeed (a drain that timed out, a node that never became ready, a
 *   provider operation that failed).
 * - `cancelled`: the caller (or a shutdown) stopped it.
 * - `internal`: kup broke one of its own invariants: a bug, or data kup wrote that it cannot read back.
 */
export type KupErrorKind =
  | 'invalid-input'
  | 'not-found'
  | 'conflict'
  | 'rejected'
  | 'unauthorized'
  | 'forbidden'
  | 'unavailable'
  | 'failed'
  | 'cancelled'
  | 'internal';

/** Every {@link KupErrorKind}, in the order above (for exhaustive tables and tests). */
export const KUP_ERROR_KINDS: readonly KupErrorKind[] = [
  'invalid-input',
  'not-found',
  'conflict',
  'rejected',
  'unauthorized',
  'forbidden',
  'unavailable',
  'failed',
  'cancelled',
  'internal',
];

/** A stable error code: `KUP-AREA-NNN`, e.g. `KUP-DRAIN-003`. */
export type KupErrorCode = `KUP-${string}-${number}`;

/** Options of {@link KupError}. */
export interface KupErrorOptions<D extends object> {
  /** What sort of failure this is. */
  readonly kind: KupErrorKind;
  /** Whether the same request may succeed if tried again later, unchanged. @default false */
  readonly retryable?: boolean;
  /** What the error is about, as data (the cluster, run, node or field concerned). @default {} */
  readonly details?: D;
  /** The error that led to this one. */
  readonly cause?: unknown;
  /**
   * Whether the message already is the whole text and must not get the code in front. Only for text that mirrors
   * another tool's words (kubectl's flag errors) or the command-line usage, where the code would be noise; the code
   * is still in `code`.
   * @default false
   */
  readonly plainMessage?: boolean;
}

/**
 * A kup error: a stable {@link KupErrorCode} (also at the start of the message), a {@link KupErrorKind}, whether it is
 * worth retrying, structured `details`, and the `cause` chained (ES2022). Subclasses keep their own name and fields;
 * callers test `instanceof` the subclass they handle and read `kind` for everything else.
 *
 * @typeParam C - the codes the subclass uses.
 * @typeParam D - the shape of its details.
 */
export class KupError<
  C extends KupErrorCode = KupErrorCode,
  D extends object = Readonly<Record<string, unknown>>,
> extends Error {
  override readonly name: string = 'KupError';
  /** Stable code, also at the start of the message (unless the message mirrors another tool's words). */
  readonly code: C;
  /** What sort of failure this is. */
  readonly kind: KupErrorKind;
  /** Whether the same request may succeed if tried again later. */
  readonly retryable: boolean;
  /** What the error is about, as data. */
  readonly details: D;

  /**
   * @param code - the stable code.
   * @param message - what went wrong; the code is put in front of it (see {@link KupErrorOptions.plainMessage}).
   */
  constructor(code: C, message: string, options: KupErrorOptions<D>) {
    super(
      options.plainMessage === true ? message : `${code}: ${message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.kind = options.kind;
    this.retryable = options.retryable ?? false;
    // Every subclass without details of its own has none: `{}` as D is the empty case of D, not a lie about it.
    this.details = options.details ?? ({} as D);
  }
}
