/**
 * The reason a signal aborted, as an Error (AbortSignal.reason may be any value).
 */

/** `signal.reason` when it is an Error, else an Error saying what it was. */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new Error(
    reason === undefined ? 'aborted' : `aborted: ${typeof reason === 'string' ? reason : JSON.stringify(reason)}`,
  );
}
