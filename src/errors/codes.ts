/**
 * The one place where an error becomes a command-line exit code or an HTTP status. Both follow the error's
 * {@link KupErrorKind}; a code overrides its kind only where the kind alone would tell the caller something false.
 *
 * @module
 */
import type { KupErrorKind } from './kup-error.ts';
import { KupError } from './kup-error.ts';

/** kup's exit codes: 0 done, 1 the operation failed or found blockers, 2 bad input. */
export type ExitCode = 0 | 1 | 2;

const EXIT_CODE: Readonly<Record<KupErrorKind, ExitCode>> = {
  'invalid-input': 2,
  'not-found': 1,
  conflict: 1,
  rejected: 1,
  unauthorized: 1,
  forbidden: 1,
  unavailable: 1,
  failed: 1,
  cancelled: 1,
  internal: 1,
};

const HTTP_STATUS: Readonly<Record<KupErrorKind, number>> = {
  'invalid-input': 400,
  'not-found': 404,
  conflict: 409,
  rejected: 422,
  unauthorized: 401,
  forbidden: 403,
  unavailable: 503,
  failed: 500,
  // On the server a request is cancelled by a shutdown (a client that went away reads no status at all).
  cancelled: 503,
  internal: 500,
};

/**
 * Codes whose HTTP status is not their kind's. A cluster or a provider refusing kup's credentials is `unauthorized`
 * (never retry it), but for a client of kup's API it is a failure behind kup: a 401 would tell that client its own
 * credentials are wrong.
 */
const HTTP_STATUS_BY_CODE: Readonly<Partial<Record<string, number>>> = {
  /** ClusterErrorCode.unauthorized (src/kube-api/errors.ts). */
  'KUP-CLUSTER-003': 502,
  /** ProviderErrorCode.unauthorized (src/engine/provider.ts). */
  'KUP-PROVIDER-003': 502,
};

/**
 * The kinds of errors that are not KupErrors but that kup still knows, by their `code`. kube-sim imports nothing of
 * kup, so its errors cannot derive from KupError; `kup sim start` and `kup demo` run it in-process, and its usage and
 * scenario errors are bad input like any other.
 */
const FOREIGN_KIND_BY_CODE: Readonly<Partial<Record<string, KupErrorKind>>> = {
  /** kube-sim's SimUsageError (src/kube-sim/main.ts). */
  'KUP-SIM-USAGE': 'invalid-input',
  /** kube-sim's ScenarioError (src/kube-sim/scenario/errors.ts). */
  'KUP-SIM-SCENARIO': 'invalid-input',
};

/**
 * What sort of failure `err` is: a KupError's own kind, or that of an error of the embedded simulator; `undefined`
 * for anything else, which is a bug (the CLI prints its stack trace).
 */
export function kindOf(err: unknown): KupErrorKind | undefined {
  if (isKupError(err)) return err.kind;
  if (err instanceof Error) {
    const code: unknown = (err as Error & { code?: unknown }).code;
    if (typeof code === 'string') return FOREIGN_KIND_BY_CODE[code];
  }
  return undefined;
}

/** The exit code of a command that failed with `err`: by its kind, and 1 for an error kup does not know. */
export function exitCodeOf(err: unknown): ExitCode {
  const kind = kindOf(err);
  return kind === undefined ? 1 : EXIT_CODE[kind];
}

/** The HTTP status of a request that failed with `err`: by its code or kind, and 500 for an error kup does not know. */
export function httpStatusOf(err: unknown): number {
  if (isKupError(err)) {
    const byCode = HTTP_STATUS_BY_CODE[err.code];
    if (byCode !== undefined) return byCode;
  }
  const kind = kindOf(err);
  return kind === undefined ? 500 : HTTP_STATUS[kind];
}

/** `instanceof` on a generic class narrows to `KupError<any, any>`; this narrows to the defaults the tables use. */
function isKupError(err: unknown): err is KupError {
  return err instanceof KupError;
}
