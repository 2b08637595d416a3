/**
 * Errors of talking to a cluster, with a stable code in the message and the cluster named.
 */
import { KupError } from '../errors/kup-error.ts';
import type { KupErrorKind } from '../errors/kup-error.ts';

/** Stable codes of cluster errors. */
export const ClusterErrorCode = {
  kubeconfig: 'KUP-CLUSTER-001',
  unreachable: 'KUP-CLUSTER-002',
  unauthorized: 'KUP-CLUSTER-003',
  api: 'KUP-CLUSTER-004',
} as const;
/** One of ClusterErrorCode's values. */
export type ClusterErrorCode = (typeof ClusterErrorCode)[keyof typeof ClusterErrorCode];

/** A failure to reach or use a cluster's API. */
export class ClusterError extends KupError<ClusterErrorCode, { cluster?: string; status?: number; reason?: string }> {
  override readonly name = 'ClusterError';
  constructor(
    code: ClusterErrorCode,
    message: string,
    details: { cluster?: string; status?: number; reason?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, {
      kind: CLUSTER_ERROR_KIND[code],
      // An unreachable API may come back, unless what kept it out is a certificate that does not verify; an API error
      // is worth another try only when its status says so.
      retryable:
        (code === ClusterErrorCode.unreachable && !isCertificateError(options?.cause)) ||
        (code === ClusterErrorCode.api && details.status !== undefined && (details.status === 429 || details.status >= 500)),
      details,
      cause: options?.cause,
    });
  }
}

const CLUSTER_ERROR_KIND: Readonly<Record<ClusterErrorCode, KupErrorKind>> = {
  // The kubeconfig of a registered cluster no longer works: the command-line flags were fine (the commands that take
  // --kubeconfig report it as bad input themselves).
  [ClusterErrorCode.kubeconfig]: 'failed',
  [ClusterErrorCode.unreachable]: 'unavailable',
  [ClusterErrorCode.unauthorized]: 'unauthorized',
  [ClusterErrorCode.api]: 'failed',
};

/** The HTTP status of a client-node error (ApiException or a raw request error), if any. */
/** Socket-level failures worth another try: the API server or the network was briefly out of reach. */
const NETWORK_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** TLS verification failures: the server's certificate does not verify against the kubeconfig's CA, or has expired. */
const CERTIFICATE_ERRORS: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The string codes along an error's cause chain (Node's `ECONNREFUSED`, TLS's `CERT_HAS_EXPIRED`, ...). */
function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 6 && typeof e === 'object' && e !== null; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** Whether an error (or one of its causes) is a certificate that does not verify: trying again cannot help. */
export function isCertificateError(err: unknown): boolean {
  return codesOf(err).some((c) => CERTIFICATE_ERRORS.has(c));
}

/**
 * Whether trying the same request again may succeed: the one decision for the engine and the drain. Yes for 429 and
 * 5xx answers and for network failures (the API server restarting, a connection cut); no for any other HTTP answer
 * (401 and 403: credentials revoked or lacking; 404, 409, 422: the request itself) and for a certificate that does
 * not verify. Retrying those as if they were transient only delays the pause that tells the operator.
 */
export function healsByRetry(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== undefined) return status === 429 || status >= 500;
  if (isCertificateError(err)) return false;
  if (err instanceof ClusterError) return err.retryable;
  return codesOf(err).some((c) => NETWORK_ERRORS.has(c) || c === ClusterErrorCode.unreachable);
}

export function statusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    const statusCode = (err as { statusCode?: unknown }).statusCode;
    if (typeof statusCode === 'number') return statusCode;
  }
  return undefined;
}

/** The `kind: Status` body of a client-node ApiException, parsed, if it has one. */
export function statusBodyOf(err: unknown): { message?: string; reason?: string; details?: { causes?: { reason?: string; message?: string }[] } } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed) : undefined;
    } catch {
      return undefined;
    }
  }
  return typeof body === 'object' && body !== null ? (body) : undefined;
}

/** Whether an error is worth retrying: never 4xx but 429 (and 409 conflicts, which the caller re-reads for). */
export function isRetryable(err: unknown): boolean {
  const status = statusOf(err);
  if (status === undefined) return true; // network errors
  return status === 429 || status >= 500;
}
