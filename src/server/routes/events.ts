/**
 * Run events: a page of JSON, or with `Accept: text/event-stream` a live Server-Sent Events stream, for one run
 * (`/runs/{id}/events`) or the whole fleet (`/events`). Every SSE `id:` is the event's global id; a reconnect with
 * `Last-Event-ID` (or `?after=ID`) resumes after it with no gap and no duplicate (event-hub.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { RunNotFoundError } from '../../engine/apply-event.ts';
import type { RunEvent } from '../../persistence/events-repo.ts';
import type { ServerApp } from '../app.ts';
import { ApiError, ApiErrorCode } from '../errors.ts';
import { IdParams, responses } from '../schemas/common.ts';
import type { KupService } from '../service.ts';

const Event = Type.Object({
  id: Type.Integer({ description: 'Global id: increasing across all runs; the SSE id' }),
  runId: Type.String(),
  seq: Type.Integer({ description: '1, 2, 3... within the run' }),
  at: Type.String({ format: 'date-time' }),
  step: Type.String(),
  node: Type.Optional(Type.String()),
  outcome: Type.String(),
  message: Type.String(),
  data: Type.Optional(Type.Unknown()),
});

const EventPage = Type.Object({
  items: Type.Array(Event),
  /** Pass as `after` for the next page; the last id of this one (or `after` when it is empty). */
  next: Type.Integer(),
});

const EventQuery = Type.Object(
  {
    after: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Only events with a greater global id (as Last-Event-ID)' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

/** How often an idle stream sends a comment, so proxies and clients see it alive. */
const KEEPALIVE_MS = 15_000;

/** Registers the event routes. */
export function registerEventRoutes(app: ServerApp, service: KupService): void {
  app.get(
    '/api/v1/events',
    {
      config: { access: 'viewer' },
      schema: {
        summary:
          "Every run's events: a JSON page, or a live stream with Accept: text/event-stream (resumable with Last-Event-ID)",
        querystring: EventQuery,
        response: responses({ 200: EventPage }),
      },
    },
    async (request, reply) => {
      const after = startAfter(request, request.query.after);
      if (wantsStream(request)) return stream(service, request, reply, { afterId: after });
      const items = await service.store.events.listAll({ afterId: after, limit: request.query.limit ?? 100 });
      return page(items, after);
    },
  );

  app.get(
    '/api/v1/runs/:id/events',
    {
      config: { access: 'viewer' },
      schema: {
        summary:
          "A run's events: a JSON page, or a live stream with Accept: text/event-stream (resumable with Last-Event-ID)",
        params: IdParams,
        querystring: EventQuery,
        response: responses({ 200: EventPage }, [404]),
      },
    },
    async (request, reply) => {
      const runId = request.params.id;
      if ((await service.store.runs.get(runId)) === undefined) throw new RunNotFoundError(runId);
      const after = startAfter(request, request.query.after);
      if (wantsStream(request)) return stream(service, request, reply, { runId, afterId: after });
      const items = await service.store.events.list(runId, { afterId: after, limit: request.query.limit ?? 100 });
      return page(items, after);
    },
  );
}

function wantsStream(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').split(',').some((part) => part.trim().split(';')[0] === 'text/event-stream');
}

/** Where to start: `Last-Event-ID` (what a reconnecting EventSource sends) wins over `?after`. */
function startAfter(request: FastifyRequest, after: number | undefined): number {
  const header = request.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') {
    if (!/^\d{1,15}$/.test(header.trim())) {
      throw new ApiError(ApiErrorCode.invalid, `Last-Event-ID "${header}" is not an event id`, {
        kind: 'invalid-input',
        details: { field: 'headers.last-event-id' },
      });
    }
    return Number(header.trim());
  }
  return after ?? 0;
}

function page(items: readonly RunEvent[], after: number) {
  return { items: items.map(eventDocument), next: items[items.length - 1]?.id ?? after };
}

function eventDocument(e: RunEvent) {
  return {
    id: e.id,
    runId: e.runId,
    seq: e.seq,
    at: new Date(e.at).toISOString(),
    step: e.step,
    ...(e.node !== undefined ? { node: e.node } : {}),
    outcome: e.outcome,
    message: e.message,
    ...(e.data !== undefined ? { data: e.data } : {}),
  };
}

/** Streams events as SSE until the client goes away or the service stops. */
function stream(
  service: KupService,
  request: FastifyRequest,
  reply: FastifyReply,
  from: { runId?: string; afterId: number },
): FastifyReply {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // The client's reconnection delay, and a first line so that it knows the stream is open.
  res.write('retry: 2000\n: kup events\n\n');
  let closed = false;
  const write = (text: string): Promise<void> =>
    new Promise((resolve) => {
      if (closed) return resolve();
      // Backpressure: a slow client holds its own cursor back, nobody else's.
      if (res.write(text)) resolve();
      else res.once('drain', () => resolve());
    });
  const unsubscribe = service.events.subscribe({
    ...(from.runId !== undefined ? { runId: from.runId } : {}),
    afterId: from.afterId,
    send: async (events) => {
      for (const e of events)
        await write(`id: ${e.id}\nevent: run-event\ndata: ${JSON.stringify(eventDocument(e))}\n\n`);
    },
    fail: (err) => {
      request.log.error({ err }, 'event stream failed');
      end();
    },
  });
  const cancelKeepalive = keepalive();
  function keepalive(): () => void {
    let cancel = service.clock.after(KEEPALIVE_MS, function tick() {
      void write(': keep-alive\n\n');
      cancel = service.clock.after(KEEPALIVE_MS, tick);
    });
    return () => cancel();
  }
  let offStop = (): void => undefined;
  const end = (): void => {
    if (closed) return;
    closed = true;
    offStop();
    unsubscribe();
    cancelKeepalive();
    res.end();
  };
  res.on('close', end);
  const off = service.onStop(end);
  offStop = () => void off();
  return reply;
}
