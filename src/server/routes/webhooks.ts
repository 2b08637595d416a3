/**
 * Webhooks (admin): add one (a URL, the CloudEvent types it wants, a signing secret given or made here, in the answer
 * once and sealed at rest with the service's key), list them with how their deliveries went, read one with its
 * latest deliveries, remove one (its undelivered notifications go with it). The service's webhook worker
 * (src/server/webhooks.ts) sends each run and rollout event to every webhook that wants its type, from its creation on.
 */
import { randomBytes } from 'node:crypto';
import { Type } from 'typebox';
import type { OutboxItem, WebhookRow } from '../../persistence/webhook-outbox-repo.ts';
import type { ServerApp } from '../app.ts';
import { ApiError, ApiErrorCode } from '../errors.ts';
import { ClusterName, responses } from '../schemas/common.ts';
import type { KupService } from '../service.ts';

const WebhookName = Type.String({ ...ClusterName, description: 'A DNS label' });
const NameParams = Type.Object({ name: WebhookName }, { additionalProperties: false });

const TypePrefix = Type.String({
  pattern: '^dev\\.kup\\.(run|rollout)(\\.[a-z0-9-]*)?$',
  maxLength: 200,
  description: 'A CloudEvent type or its prefix: dev.kup.run. (every run event), dev.kup.run.paused, dev.kup.rollout.',
});

const Deliveries = Type.Object({
  delivered: Type.Integer(),
  pending: Type.Integer({ description: 'Waiting for their first attempt or a retry' }),
  failed: Type.Integer({ description: 'Given up: refused for good, or out of attempts' }),
});

const Webhook = Type.Object({
  name: Type.String(),
  url: Type.String(),
  types: Type.Array(Type.String(), { description: 'Empty: every event' }),
  createdAt: Type.String({ format: 'date-time' }),
  deliveries: Deliveries,
  lastError: Type.Union([Type.String(), Type.Null()], { description: 'Of the latest failed attempt' }),
});

const Delivery = Type.Object({
  eventId: Type.String({ description: 'The CloudEvent id (webhook-id): the same on every attempt' }),
  type: Type.String(),
  attempts: Type.Integer(),
  state: Type.Union([Type.Literal('delivered'), Type.Literal('pending'), Type.Literal('failed')]),
  deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
});

/** The latest deliveries a webhook's detail shows. */
const RECENT = 50;

/** Registers the webhook routes. */
export function registerWebhookRoutes(app: ServerApp, service: KupService): void {
  app.get(
    '/api/v1/webhooks',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Webhooks and how their deliveries went (never their secret)',
        response: responses({ 200: Type.Object({ items: Type.Array(Webhook) }) }, [403]),
      },
    },
    async () => {
      const hooks = await service.store.webhookOutbox.webhooks();
      return { items: await Promise.all(hooks.map(async (h) => (await described(service, h)).doc)) };
    },
  );

  app.post(
    '/api/v1/webhooks',
    {
      config: { access: 'admin', audit: 'adding a webhook' },
      schema: {
        summary: 'Add a webhook; its signing secret is in this answer only',
        body: Type.Object(
          {
            name: WebhookName,
            url: Type.String({
              minLength: 8,
              maxLength: 2048,
              description: 'http(s) URL the CloudEvents are POSTed to',
            }),
            types: Type.Optional(Type.Array(TypePrefix, { maxItems: 50 })),
            secret: Type.Optional(
              Type.String({
                minLength: 24,
                maxLength: 256,
                pattern: '^\\S+$',
                description: 'The HMAC-SHA256 key (its UTF-8 bytes); made here when absent',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses(
          { 201: Type.Object({ ...Webhook.properties, secret: Type.String({ description: 'Shown once' }) }) },
          [403, 409],
        ),
      },
    },
    async (request, reply) => {
      const { name, url, types = [] } = request.body;
      request.auditTarget = name;
      const target = parseTarget(url);
      if ((await service.store.webhookOutbox.webhooks()).some((h) => h.name === name))
        throw new ApiError(ApiErrorCode.conflict, `webhook ${name} exists: remove it first to change it`, {
          kind: 'conflict',
          details: { webhook: name },
        });
      const secret = request.body.secret ?? randomBytes(32).toString('base64url');
      const row: WebhookRow = {
        name,
        url: target,
        secret: service.sealWebhookSecret(name, secret),
        types,
        createdAt: service.clock.now(),
      };
      await service.store.webhookOutbox.putWebhook(row);
      return reply.status(201).send({ ...(await described(service, row)).doc, secret });
    },
  );

  app.get(
    '/api/v1/webhooks/:name',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'A webhook with its latest deliveries, newest first',
        params: NameParams,
        response: responses({ 200: Type.Object({ ...Webhook.properties, recent: Type.Array(Delivery) }) }, [403, 404]),
      },
    },
    async (request) => {
      const { doc, items } = await described(service, await webhookNamed(service, request.params.name));
      return { ...doc, recent: items.slice(-RECENT).reverse().map(deliveryDocument) };
    },
  );

  app.delete(
    '/api/v1/webhooks/:name',
    {
      config: { access: 'admin', audit: 'removing a webhook' },
      schema: {
        summary: 'Remove a webhook: nothing more is sent to it, its undelivered notifications are dropped',
        params: NameParams,
        response: responses(
          { 200: Type.Object({ name: Type.String(), dropped: Type.Integer({ description: 'Undelivered, dropped' }) }) },
          [403, 404],
        ),
      },
    },
    async (request) => {
      const { name } = request.params;
      const { doc } = await described(service, await webhookNamed(service, name));
      if (!(await service.store.webhookOutbox.removeWebhook(name))) throw notFound(name);
      return { name, dropped: doc.deliveries.pending };
    },
  );
}

/** The URL a webhook posts to: http or https, with a host and no credentials (they would be stored in clear). */
function parseTarget(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidUrl(`"${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidUrl(`${url.protocol} is not http: or https:`);
  if (url.hostname === '') throw invalidUrl('the URL has no host');
  if (url.username !== '' || url.password !== '')
    throw invalidUrl('the URL carries credentials: the signature authenticates kup to the receiver');
  return url.toString();
}

function invalidUrl(why: string): ApiError {
  return new ApiError(ApiErrorCode.invalid, `url: ${why}`, { kind: 'invalid-input', details: { field: 'body.url' } });
}

function notFound(name: string): ApiError {
  return new ApiError(ApiErrorCode.notFound, `no webhook ${name}`, { kind: 'not-found', details: { webhook: name } });
}

async function webhookNamed(service: KupService, name: string): Promise<WebhookRow> {
  const hook = (await service.store.webhookOutbox.webhooks()).find((h) => h.name === name);
  if (hook === undefined) throw notFound(name);
  return hook;
}

type Item = OutboxItem & { readonly deliveredAt?: number; readonly dead: boolean };

async function described(service: KupService, hook: WebhookRow): Promise<{ doc: WebhookDoc; items: readonly Item[] }> {
  const items = await service.store.webhookOutbox.list(hook.name);
  const delivered = items.filter((i) => i.deliveredAt !== undefined).length;
  const failed = items.filter((i) => i.dead).length;
  const lastError = items.reduce<Item | undefined>(
    (latest, i) => (i.lastError !== undefined && (latest === undefined || i.nextAt >= latest.nextAt) ? i : latest),
    undefined,
  )?.lastError;
  return {
    doc: {
      name: hook.name,
      url: hook.url,
      types: [...hook.types],
      createdAt: new Date(hook.createdAt).toISOString(),
      deliveries: { delivered, pending: items.length - delivered - failed, failed },
      lastError: lastError ?? null,
    },
    items,
  };
}

interface WebhookDoc {
  name: string;
  url: string;
  types: string[];
  createdAt: string;
  deliveries: { delivered: number; pending: number; failed: number };
  lastError: string | null;
}

function deliveryDocument(i: Item) {
  const state: 'delivered' | 'pending' | 'failed' =
    i.deliveredAt !== undefined ? 'delivered' : i.dead ? 'failed' : 'pending';
  return {
    eventId: i.eventId,
    type: typeof (i.event as { type?: unknown }).type === 'string' ? (i.event as { type: string }).type : '',
    attempts: i.attempts,
    state,
    deliveredAt: i.deliveredAt !== undefined ? new Date(i.deliveredAt).toISOString() : null,
    nextAttemptAt: state === 'pending' ? new Date(i.nextAt).toISOString() : null,
    lastError: i.lastError ?? null,
  };
}
