/**
 * `/healthz` (the process answers), `/readyz` (it takes work: started, not stopping, its store answers) and
 * `/metrics` (Prometheus). Outside `/api/v1` and without a token, as probes and scrapers expect; no secret is in
 * any of them.
 */
import { Type } from 'typebox';
import type { ServerApp } from '../app.ts';
import { responses } from '../schemas/common.ts';
import type { KupService } from '../service.ts';

const Health = Type.Object({ status: Type.String() });

/** Registers the health and metrics routes. */
export function registerHealthRoutes(app: ServerApp, service: KupService): void {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { summary: 'Liveness', security: [], response: { 200: Health } } },
    () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Readiness: started, not stopping, store reachable',
        security: [],
        response: responses({ 200: Health }),
      },
    },
    async (_request, reply) => {
      if (!service.ready)
        return reply
          .status(503)
          .send({
            error: {
              code: 'KUP-API-503',
              kind: 'unavailable',
              message: 'KUP-API-503: the service is starting or stopping',
            },
          });
      await service.store.events.lastId();
      return { status: 'ready' };
    },
  );

  app.get(
    '/metrics',
    { config: { access: 'public' }, schema: { summary: 'Prometheus metrics', security: [], hide: true } },
    async (_request, reply) => {
      const text = await service.metrics.registry.metrics();
      return reply.type(service.metrics.registry.contentType).send(text);
    },
  );
}
