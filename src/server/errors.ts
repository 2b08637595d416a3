/**
 * The service's one error envelope: every failure of a request becomes `{ error: { code, kind, message, field?,
 * details? } }` with the status its kind (or code) maps to in `src/errors/codes.ts`. Schema validation failures name
 * the field at fault; fastify's own refusals (a body that is not JSON, too large, a wrong media type) are bad input
 * with a KUP code of their own; anything else is a 500 whose message says no more than that (the log has the stack).
 */
import type { FastifyError } from 'fastify';
import { httpStatusOf, kindOf } from '../errors/codes.ts';
import { KupError } from '../errors/kup-error.ts';

/** Codes of the API's own refusals. */
export const ApiErrorCode = {
  /** The request does not match the route's schema (the field is named). */
  invalid: 'KUP-API-001',
  /** No such route. */
  noRoute: 'KUP-API-002',
  /** The request cannot be read (not JSON, too large, a media type the route does not take). */
  unreadable: 'KUP-API-003',
  /** The resource named does not exist (a precheck report, a token). */
  notFound: 'KUP-API-404',
  /** The state does not allow the request (a token revoked already). */
  conflict: 'KUP-API-409',
  /** The cluster asked about does not answer. */
  unreachable: 'KUP-API-004',
  /** A fault of the service (the log has it). */
  internal: 'KUP-API-500',
} as const;

/** A request the API refuses before it reaches the domain. */
export class ApiError extends KupError<
  (typeof ApiErrorCode)[keyof typeof ApiErrorCode],
  Readonly<Record<string, unknown>>
> {
  override readonly name = 'ApiError';
}

/** The envelope's body. */
export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly kind: string;
    readonly message: string;
    readonly field?: string;
    readonly details?: Readonly<Record<string, unknown>>;
  };
}

/** The status and envelope of an error thrown while serving a request. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody; fault: boolean } {
  const validation = validationError(err);
  if (validation) return { status: 400, body: envelope(validation), fault: false };
  if (err instanceof KupError) {
    const status = httpStatusOf(err);
    const body = envelope(err);
    return { status, body, fault: status >= 500 && err.kind === 'internal' };
  }
  const fastifyStatus = (err as Partial<FastifyError> | undefined)?.statusCode;
  if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
    const e = err as FastifyError;
    return {
      status: fastifyStatus,
      body: {
        error: {
          code: ApiErrorCode.unreadable,
          kind: 'invalid-input',
          message: `${ApiErrorCode.unreadable}: ${e.message}`,
        },
      },
      fault: false,
    };
  }
  if (kindOf(err) !== undefined)
    return { status: httpStatusOf(err), body: envelope(err as Error & { code: string }), fault: false };
  return {
    status: 500,
    body: {
      error: {
        code: ApiErrorCode.internal,
        kind: 'internal',
        message: `${ApiErrorCode.internal}: the service failed on this request (its log has the cause)`,
      },
    },
    fault: true,
  };
}

function envelope(err: Error & { code: string; kind?: string; details?: object }): ErrorBody {
  const details = (err.details ?? {}) as Record<string, unknown>;
  const { field, ...rest } = details;
  return {
    error: {
      code: err.code,
      kind: err.kind ?? kindOf(err) ?? 'internal',
      message: err.message,
      ...(typeof field === 'string' ? { field } : {}),
      ...(Object.keys(rest).length > 0 ? { details: rest } : {}),
    },
  };
}

/** Fastify's schema validation failure, as an ApiError naming the field. */
function validationError(err: unknown): ApiError | undefined {
  const e = err as Partial<FastifyError> & { validationContext?: string };
  const first = e?.validation?.[0];
  if (!first) return undefined;
  const context = e.validationContext ?? 'body';
  const params = first.params;
  const path = [context, ...first.instancePath.split('/').filter(Boolean)];
  if (typeof params['missingProperty'] === 'string') path.push(params['missingProperty']);
  if (typeof params['additionalProperty'] === 'string') path.push(params['additionalProperty']);
  const field = path.join('.');
  const what =
    typeof params['additionalProperty'] === 'string' ? 'is not a known field' : (first.message ?? 'is not valid');
  return new ApiError(ApiErrorCode.invalid, `${field} ${what}`, { kind: 'invalid-input', details: { field } });
}
