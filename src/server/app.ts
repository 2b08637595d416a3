/**
 * The HTTP side of the service: fastify with TypeBox schemas (validated on the way in, serialized by them on the way
 * out), the OpenAPI 3.1 document generated from them at `/api/v1/openapi.json`, bearer-token auth with roles per
 * route, the audit log of every mutating call, and one error envelope (errors.ts). Routes live one file per area
 * in routes/ and are registered below with one line each.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Principal, Role } from './auth.ts';
import { ForbiddenError, allows } from './auth.ts';
import { errorResponse } from './errors.ts';
import type { KupService } from './service.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import { registerCatalogRoutes } from './routes/catalog.ts';
import { registerClusterRoutes } from './routes/clusters.ts';
import { registerConsoleRoutes } from './routes/console.ts';
import { registerEventRoutes } from './routes/events.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerLifecycleRoutes } from './lifecycle.ts';
import { registerPrecheckRoutes } from './routes/prechecks.ts';
import { registerRunRoutes } from './routes/runs.ts';
import { registerTokenRoutes } from './routes/tokens.ts';

/** The fastify instance the routes are registered on. */
export type ServerApp = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** Who may call a route: `public` needs no token. */
export type Access = Role | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The role a route needs (routes without one are refused: no route is public by omission). */
    access?: Access;
    /** A one-line name of what the route does, for the audit log. */
    audit?: string;
  }
  interface FastifyRequest {
    /** Who made the request, once authenticated. */
    principal?: Principal;
    /** What the request acted on, for the audit log (a cluster, a run id, a token id). */
    auditTarget?: string;
    /** The KUP code the request failed with, for the audit log and the error counter. */
    errorCode?: string;
  }
}

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** TLS: PEM key and certificate. @default plain HTTP */
  readonly https?: { readonly key: Buffer; readonly cert: Buffer };
  /** The largest request body, bytes (an uploaded kubeconfig fits well within it). @default 1 MiB */
  readonly bodyLimit?: number;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Builds the app over a service (not listening yet). */
export async function buildApp(service: KupService, options: BuildAppOptions = {}): Promise<ServerApp> {
  const app = Fastify({
    loggerInstance: service.log,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Longer than any id the schemas accept, so an overlong one is a 400 naming the parameter rather than a bare 414.
    maxParamLength: 1024,
    // Unknown fields are refused, not silently dropped: a typo in an option must not run an upgrade without it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    ...(options.https ? { https: { key: options.https.key, cert: options.https.cert } } : {}),
    // Request ids in the logs tie a request's lines together; a caller's X-Request-Id is kept.
    requestIdHeader: 'x-request-id',
    disableRequestLogging: false,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as ServerApp;

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'kup',
        version: '1',
        description:
          'Upgrade Kubernetes clusters safely: clusters, version catalog, prechecks, plans, runs, live events. Errors share one envelope (ErrorEnvelope).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((err, request, reply) => {
    const { status, body, fault } = errorResponse(err);
    request.errorCode = body.error.code;
    service.metrics.httpError(body.error.code);
    if (fault) request.log.error({ err }, 'request failed');
    else request.log.info({ code: body.error.code, status }, body.error.message);
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    request.errorCode = 'KUP-API-002';
    return reply
      .status(404)
      .send({
        error: {
          code: 'KUP-API-002',
          kind: 'not-found',
          message: `KUP-API-002: no route ${request.method} ${request.url.split('?')[0] ?? ''}`,
        },
      });
  });

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    // A route without an access level is an omission, and is closed rather than open.
    if (access === 'public') return;
    const principal = await service.authenticate(request.headers.authorization);
    request.principal = principal;
    const required: Role = access ?? 'admin';
    if (!allows(principal.role, required)) throw new ForbiddenError(principal.role, required, describe(request));
  });

  app.addHook('onResponse', async (request, reply) => {
    if (!MUTATING.has(request.method) || !request.url.startsWith('/api/v1/')) return;
    const status = reply.statusCode;
    try {
      await service.store.audit.append({
        at: service.clock.now(),
        actor: request.principal?.tokenId ?? 'anonymous',
        ...(request.principal ? { role: request.principal.role } : {}),
        method: request.method,
        action: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0] ?? ''}`,
        ...auditTarget(request),
        status,
        outcome: status < 400 ? 'succeeded' : status < 500 ? 'refused' : 'failed',
        ...(request.errorCode !== undefined ? { code: request.errorCode } : {}),
      });
    } catch (err) {
      request.log.error({ err }, 'the audit log could not be written');
    }
  });

  registerHealthRoutes(app, service);
  registerClusterRoutes(app, service);
  registerCatalogRoutes(app, service);
  registerPrecheckRoutes(app, service);
  registerRunRoutes(app, service);
  registerEventRoutes(app, service);
  registerTokenRoutes(app, service);
  registerAuditRoutes(app, service);
  registerLifecycleRoutes(app, service);
  registerConsoleRoutes(app, service);
  registerWebhookRoutes(app, service);

  app.get('/api/v1/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, () => app.swagger());
  return app;
}

/** What a call acted on: what its handler said, else the cluster or id its path names (a refused call too). */
function auditTarget(request: FastifyRequest): { target?: string } {
  if (request.auditTarget !== undefined) return { target: request.auditTarget };
  const params = (request.params ?? {}) as Record<string, unknown>;
  const named = params['name'] ?? params['id'];
  return typeof named === 'string' ? { target: named } : {};
}

function describe(request: FastifyRequest): string {
  return request.routeOptions.config.audit ?? `${request.method} ${request.routeOptions.url ?? request.url}`;
}
