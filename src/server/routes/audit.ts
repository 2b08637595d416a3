/** The audit log (admin): every mutating call, who made it, what it acted on, when, and how it ended. */
import { Type } from 'typebox';
import type { ServerApp } from '../app.ts';
import { responses } from '../schemas/common.ts';
import type { KupService } from '../service.ts';

const AuditEntry = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.String({ description: 'The token id, or anonymous' }),
  role: Type.Union([Type.String(), Type.Null()]),
  method: Type.String(),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  status: Type.Integer(),
  outcome: Type.String({ description: 'succeeded, refused (4xx) or failed (5xx)' }),
  code: Type.Union([Type.String(), Type.Null()]),
});

/** Registers the audit route. */
export function registerAuditRoutes(app: ServerApp, service: KupService): void {
  app.get(
    '/api/v1/audit',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'The audit log, newest first (before: page back)',
        querystring: Type.Object(
          {
            before: Type.Optional(Type.Integer({ minimum: 1 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ items: Type.Array(AuditEntry) }) }, [403]),
      },
    },
    async (request) => {
      const entries = await service.store.audit.list({
        ...(request.query.before !== undefined ? { beforeId: request.query.before } : {}),
        limit: request.query.limit ?? 100,
      });
      return {
        items: entries.map((e) => ({
          id: e.id,
          at: new Date(e.at).toISOString(),
          actor: e.actor,
          role: e.role ?? null,
          method: e.method,
          action: e.action,
          target: e.target ?? null,
          status: e.status,
          outcome: e.outcome,
          code: e.code ?? null,
        })),
      };
    },
  );
}
