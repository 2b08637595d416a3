/**
 * A kup service for end-to-end tests: the real app and service over a new data directory, listening on a free
 * loopback port, reached over real HTTP; its JSON log kept in memory so that a test can read what it wrote.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Clock } from '../../src/clock/clock.ts';
import { systemClock } from '../../src/clock/clock.ts';
import { openSqliteStore } from '../../src/persistence/store.ts';
import { builtInProviders } from '../../src/providers/registry.ts';
import type { ServerApp } from '../../src/server/app.ts';
import { buildApp } from '../../src/server/app.ts';
import { SecretBox, loadSecretKey } from '../../src/server/secrets.ts';
import { KupService } from '../../src/server/service.ts';

/** A running service. */
export interface TestService {
  readonly url: string;
  readonly dataDir: string;
  readonly service: KupService;
  readonly app: ServerApp;
  /** The admin token created on first start. */
  readonly adminToken: string;
  /** Every log line written so far (JSON text). */
  readonly logs: string[];
  /** A request to the API with `token` (default the admin's); the body parsed when JSON (untyped: tests assert its shape). */
  call(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

/** Options of {@link startService}. */
export interface StartServiceOptions {
  readonly dataDir?: string;
  readonly maxConcurrentRuns?: number;
  readonly adminToken?: string;
  /** The service's clock (a ManualClock moves windows and soaks without waiting). @default systemClock */
  readonly clock?: Clock;
  /** @default 500 */
  readonly scanEveryMs?: number;
  /** @default 200 */
  readonly eventPollMs?: number;
  /** The webhook worker's passes and first retry delay (default the service's: 1 s and 5 s). */
  readonly webhooks?: { readonly pollMs: number; readonly retryBaseMs: number };
}

/** Starts a service over `dataDir` (a new one by default). */
export async function startService(options: StartServiceOptions = {}): Promise<TestService> {
  const dataDir = options.dataDir ?? join(mkdtempSync(join(tmpdir(), 'kup-serve-')), 'data');
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const log = pino({ level: 'debug', redact: { paths: ['req.headers.authorization'], censor: '[redacted]' } }, sink);
  const service = new KupService({
    dataDir,
    store: openSqliteStore({ dataDir }),
    clock: options.clock ?? systemClock,
    providers: builtInProviders(),
    secrets: new SecretBox(loadSecretKey(dataDir, {}).key),
    log,
    scanEveryMs: options.scanEveryMs ?? 500,
    eventPollMs: options.eventPollMs ?? 200,
    ...(options.maxConcurrentRuns !== undefined ? { maxConcurrentRuns: options.maxConcurrentRuns } : {}),
    ...(options.webhooks
      ? { webhookPollMs: options.webhooks.pollMs, webhookRetryBaseMs: options.webhooks.retryBaseMs }
      : {}),
  });
  // A second service on the same data directory finds the first one's admin token and creates none.
  const adminToken = (await service.ensureAdminToken()) ?? options.adminToken ?? '';
  await service.start();
  const app = await buildApp(service);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    dataDir,
    service,
    app,
    adminToken,
    logs,
    async call(method, path, callOptions = {}) {
      const token = callOptions.token === undefined ? adminToken : callOptions.token;
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
          ...(callOptions.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...callOptions.headers,
        },
        ...(callOptions.body !== undefined
          ? { body: typeof callOptions.body === 'string' ? callOptions.body : JSON.stringify(callOptions.body) }
          : {}),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: the text
      }
      return { status: res.status, body, headers: res.headers };
    },
    async close() {
      const closing = app.close();
      await service.stop();
      await closing;
    },
  };
}

/** One SSE frame. */
export interface SseEvent {
  readonly id: number;
  readonly data: { runId: string; seq: number; outcome: string; step: string; id: number };
}

/**
 * Reads an SSE stream until `until` says to stop (after each event) or the stream ends; returns the events read. The
 * connection is then dropped, as a client that goes away does.
 */
export async function readSse(
  url: string,
  token: string,
  options: { lastEventId?: number; until: (events: readonly SseEvent[]) => boolean; signal?: AbortSignal },
): Promise<SseEvent[]> {
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const res = await fetch(url, {
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'text/event-stream',
      ...(options.lastEventId !== undefined ? { 'last-event-id': String(options.lastEventId) } : {}),
    },
    signal,
  });
  if (res.status !== 200 || !res.body) throw new Error(`SSE ${url}: ${res.status} ${await res.text()}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (\d+)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (id === undefined || data === undefined) continue;
        events.push({ id: Number(id), data: JSON.parse(data) as SseEvent['data'] });
        if (options.until(events)) return events;
      }
    }
  } finally {
    controller.abort();
  }
  return events;
}
