/**
 * `kind: Status` errors exactly as the apiserver sends them (apimachinery `api/errors`). Handlers throw StatusError;
 * the server turns it into the JSON reply in one place.
 */

/** The `reason` values kube-sim uses (metav1.StatusReason). */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'RequestEntityTooLarge';

/** One cause of an Invalid or other detailed error. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** metav1.StatusDetails. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The JSON body of a Status. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** An error the API answers as a `kind: Status` object. */
export class StatusError extends Error {
  override readonly name = 'StatusError';
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
    /** Sent as the Retry-After header: only where the real server sends it (client-go retries silently on it). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** The reply body. */
  toStatus(): StatusBody {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** The qualified resource in messages: `pods`, `deployments.apps`. */
function qualified(group: string, plural: string): string {
  return group ? `${plural}.${group}` : plural;
}

/** 404 `pods "x" not found`. */
export function notFound(group: string, plural: string, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualified(group, plural)} "${name}" not found`, {
    name,
    ...(group ? { group } : {}),
    kind: plural,
  });
}

/** 409 `pods "x" already exists`. */
export function alreadyExists(group: string, plural: string, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualified(group, plural)} "${name}" already exists`, {
    name,
    ...(group ? { group } : {}),
    kind: plural,
  });
}

/** 409 Conflict for a stale resourceVersion. */
export function conflict(group: string, plural: string, name: string): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(group, plural)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, ...(group ? { group } : {}), kind: plural },
  );
}

/** 422 Invalid with field causes. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): StatusError {
  const what = group ? `${kind}.${group}` : kind;
  const list = causes.map((c) => `${c.field ?? ''}: ${c.message ?? ''}`).join(', ');
  return new StatusError(422, 'Invalid', `${what} "${name}" is invalid: ${causes.length > 1 ? `[${list}]` : list}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

/** 410 Expired for a watch or continue from a compacted resourceVersion. */
export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(method: string): StatusError {
  return new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`);
}

/** A Success status (delete of some resources, eviction). */
export function successStatus(code: number, details?: StatusDetails): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code };
}
