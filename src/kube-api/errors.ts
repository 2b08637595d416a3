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
      // An unreachable API may come back; an API error is worth another try only when its status says so.
      retryable:
        code === ClusterErrorCode.unreachable ||
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
