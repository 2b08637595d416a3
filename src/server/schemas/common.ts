/**
 * Schemas every area shares: the error envelope, free-form documents the domain owns (a plan, a run's progress), and
 * the responses of a route that can fail. The OpenAPI document is generated from these (TypeBox is JSON Schema).
 */
import type { TSchema } from 'typebox';
import { Type } from 'typebox';

/** One error envelope for every 4xx and 5xx (CONTRACT.md). */
export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: 'Stable KUP-... code', examples: ['KUP-RUN-001'] }),
        kind: Type.String({
          description: 'What sort of failure (KupErrorKind): invalid-input, not-found, conflict, ...',
        }),
        message: Type.String(),
        field: Type.Optional(
          Type.String({ description: 'The field at fault, as a path: body.to, params.id, querystring.limit' }),
        ),
        details: Type.Optional(Type.Object({}, { additionalProperties: true })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'ErrorEnvelope' },
);

/** A JSON document whose shape the domain owns (plans, run status and progress, precheck reports). */
export const Document = Type.Object({}, { additionalProperties: true });

/** A cluster name: a DNS label. */
export const ClusterName = Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' });

/** `{ name }` path parameters of a cluster. */
export const ClusterParams = Type.Object({ name: ClusterName }, { additionalProperties: false });

/** `{ id }` path parameters. */
export const IdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

/** The status codes a route may answer with the error envelope. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 422 | 500 | 502 | 503;

/**
 * The responses of a route: its own, the envelope for each error status given, and always 400 (bad input), 401
 * (no token) and 500/503 (a fault, the service stopping).
 */
export function responses<R extends Record<number, TSchema>>(
  ok: R,
  errors: readonly ErrorStatus[] = [],
): R & Record<ErrorStatus, typeof ErrorEnvelope> {
  const all: Record<number, TSchema> = { ...ok };
  for (const status of new Set<ErrorStatus>([400, 401, 500, 503, ...errors])) all[status] = ErrorEnvelope;
  return all as R & Record<ErrorStatus, typeof ErrorEnvelope>;
}
