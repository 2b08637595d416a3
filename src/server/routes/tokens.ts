/**
 * API tokens (admin): create one with a role (its clear text is in the answer, once, and never again), list them
 * (never a token or its hash), revoke one.
 */
import { Type } from 'typebox';
import type { TokenRow } from '../../persistence/service-repos.ts';
import type { ServerApp } from '../app.ts';
import { ROLES, newToken } from '../auth.ts';
import { ApiError, ApiErrorCode } from '../errors.ts';
import { IdParams, responses } from '../schemas/common.ts';
import type { KupService } from '../service.ts';

const Token = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

/** Registers the token routes. */
export function registerTokenRoutes(app: ServerApp, service: KupService): void {
  app.get(
    '/api/v1/tokens',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'API tokens (never their secret)',
        response: responses({ 200: Type.Object({ items: Type.Array(Token) }) }, [403]),
      },
    },
    async () => ({ items: (await service.store.tokens.list()).map(tokenDocument) }),
  );

  app.post(
    '/api/v1/tokens',
    {
      config: { access: 'admin', audit: 'creating a token' },
      schema: {
        summary: 'Create a token; its secret is in this answer only',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
            role: Type.Union(ROLES.map((r) => Type.Literal(r))),
          },
          { additionalProperties: false },
        ),
        response: responses(
          { 201: Type.Object({ ...Token.properties, token: Type.String({ description: 'Shown once' }) }) },
          [403],
        ),
      },
    },
    async (request, reply) => {
      const { token, row } = newToken(
        request.body.name,
        request.body.role,
        service.clock.now(),
        request.principal?.tokenId,
      );
      await service.store.tokens.create(row);
      request.auditTarget = row.id;
      return reply.status(201).send({ ...tokenDocument(row), token });
    },
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { access: 'admin', audit: 'revoking a token' },
      schema: { summary: 'Revoke a token', params: IdParams, response: responses({ 200: Token }, [403, 404, 409]) },
    },
    async (request) => {
      request.auditTarget = request.params.id;
      const row = await service.store.tokens.get(request.params.id);
      if (row === undefined)
        throw new ApiError(ApiErrorCode.notFound, `no token ${request.params.id}`, {
          kind: 'not-found',
          details: { token: request.params.id },
        });
      if (row.revokedAt !== undefined)
        throw new ApiError(ApiErrorCode.conflict, `token ${row.id} was revoked already`, {
          kind: 'conflict',
          details: { token: row.id },
        });
      await service.store.tokens.revoke(row.id, service.clock.now());
      return tokenDocument((await service.store.tokens.get(row.id)) ?? row);
    },
  );
}

function tokenDocument(t: TokenRow) {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    createdAt: new Date(t.createdAt).toISOString(),
    createdBy: t.createdBy ?? null,
    revokedAt: t.revokedAt !== undefined ? new Date(t.revokedAt).toISOString() : null,
  };
}
