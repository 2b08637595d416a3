/**
 * Follows a Server-Sent Events stream of the API (`/runs/{id}/events`, `/events`) with the signed-in token.
 *
 * EventSource cannot send an `Authorization` header, so this reads the stream with fetch. When the connection drops it
 * reconnects with `Last-Event-ID` set to the last id it delivered: the server resumes there, with no gap and no
 * duplicate; ids at or below the last one delivered are dropped all the same.
 *
 * @module
 */
import type { ApiClient } from './client.ts';
import type { RunEvent } from './types.ts';

/** Options of {@link followEvents}. */
export interface FollowEventsOptions {
  /** Deliver only events after this id. @default 0 */
  readonly after?: number;
  /** Called with each batch of events read together (one render for a burst). */
  readonly onEvents: (events: readonly RunEvent[]) => void;
  /** Called when the stream is connected or lost. */
  readonly onConnection?: (connected: boolean) => void;
  readonly signal: AbortSignal;
  /** Wait before a reconnect. @default 1000 */
  readonly retryMs?: number;
}

/** Reads `path` (relative to the API base) until `signal` aborts. */
export async function followEvents(api: ApiClient, path: string, options: FollowEventsOptions): Promise<void> {
  let lastId = options.after ?? 0;
  const { signal } = options;
  while (!signal.aborted) {
    try {
      const response = await fetch(api.url(path), {
        headers: {
          ...api.headers(),
          accept: 'text/event-stream',
          ...(lastId > 0 ? { 'last-event-id': String(lastId) } : {}),
        },
        signal,
      });
      if (!response.ok || !response.body) throw new Error(`event stream: HTTP ${response.status}`);
      options.onConnection?.(true);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const frames = buffer.split(/\r?\n\r?\n/);
        buffer = frames.pop() ?? '';
        const events: RunEvent[] = [];
        for (const frame of frames) {
          const event = parseFrame(frame);
          if (event && event.id > lastId) {
            lastId = event.id;
            events.push(event);
          }
        }
        if (events.length > 0) options.onEvents(events);
      }
    } catch (err) {
      if (signal.aborted) return;
      console.warn(err);
    }
    options.onConnection?.(false);
    await delay(options.retryMs ?? 1000, signal);
  }
}

/** One SSE frame: `id:`, `event:` and `data:` lines; comments (`:`) are keep-alives. */
function parseFrame(frame: string): RunEvent | null {
  let id: number | undefined;
  const data: string[] = [];
  for (const line of frame.split(/\r?\n/)) {
    if (line.startsWith('id:')) id = Number(line.slice(3).trim());
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return null;
  const parsed = JSON.parse(data.join('\n')) as Omit<RunEvent, 'at'> & { at: string | number };
  return {
    ...parsed,
    id: id !== undefined && Number.isFinite(id) ? id : parsed.id,
    at: typeof parsed.at === 'string' ? Date.parse(parsed.at) : parsed.at,
  };
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
