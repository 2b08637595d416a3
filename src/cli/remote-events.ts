/**
 * A run's live events from the service, as the CLI follows them (`kup upgrade --wait` and `kup status --watch` with
 * `--server`): the Server-Sent Events stream of `GET /api/v1/runs/{id}/events`, read frame by frame. A connection
 * that drops (the service restarts, a proxy times out) is opened again with `Last-Event-ID`, so the stream goes on
 * after the last event read, with no gap and no duplicate; the service's unavailability is retried with backoff for
 * a bounded time, and any other refusal ends the stream with the service's error.
 *
 * @module
 */
import type { Clock } from '../clock/clock.ts';
import { RemoteError } from './remote.ts';
import type { RemoteClient } from './remote.ts';

/** A run event as the service sends it. */
export interface RemoteRunEvent {
  /** The global id: the SSE id. */
  readonly id: number;
  readonly runId: string;
  readonly seq: number;
  readonly at: string;
  readonly step: string;
  readonly node?: string;
  readonly outcome: string;
  readonly message: string;
}

/** What {@link followRunEvents} yields: the events read together, or word that the stream was opened (again). */
export type RunStreamItem =
  | { readonly type: 'events'; readonly events: readonly RemoteRunEvent[] }
  /** The stream is open: after a reconnect, what happened while it was down may need reading again. */
  | { readonly type: 'open'; readonly reconnect: boolean };

/** Options of {@link followRunEvents}. */
export interface FollowOptions {
  readonly clock: Clock;
  readonly signal: AbortSignal;
  /** Start after this global id. @default 0 (the run's first event) */
  readonly after?: number;
  /** How long the service may stay out of reach before following gives up. @default 120000 */
  readonly unreachableBudgetMs?: number;
}

/** First wait before a reconnect; it doubles up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;

/**
 * Follows a run's events until `signal` aborts (the caller stops when the run has ended or paused). Yields each batch
 * of events read, and an `open` item each time the stream is (re)opened.
 *
 * @throws {RemoteError} the service's refusal (401, 403, 404...), or KUP-CLI-010 when it stayed out of reach past the
 *   budget.
 */
export async function* followRunEvents(
  client: RemoteClient,
  runId: string,
  options: FollowOptions,
): AsyncGenerator<RunStreamItem, void, undefined> {
  const { clock, signal } = options;
  const budgetMs = options.unreachableBudgetMs ?? 120_000;
  let lastId = options.after ?? 0;
  let opened = false;
  let downSince: number | undefined;
  let backoff = FIRST_BACKOFF_MS;
  while (!signal.aborted) {
    let problem: RemoteError;
    try {
      const res = await client.openStream(`/api/v1/runs/${encodeURIComponent(runId)}/events`, lastId, signal);
      yield { type: 'open', reconnect: opened };
      opened = true;
      downSince = undefined;
      backoff = FIRST_BACKOFF_MS;
      for await (const frames of sseFrames(res)) {
        const events = frames.flatMap((f) => {
          const id = f.id === undefined ? NaN : Number(f.id);
          // Only run events move the cursor; a comment or a keep-alive carries no id.
          if (f.event !== 'run-event' || !Number.isInteger(id) || id <= lastId) return [];
          lastId = id;
          return [JSON.parse(f.data) as RemoteRunEvent];
        });
        if (events.length > 0) yield { type: 'events', events };
      }
      problem = new RemoteError('KUP-CLI-010', `the service ended the event stream of run ${runId}`, {
        kind: 'unavailable',
      });
    } catch (err) {
      if (signal.aborted) return;
      if (!(err instanceof RemoteError) || err.kind !== 'unavailable') throw err;
      problem = err;
    }
    // Out of reach, or the stream ended (a service stopping ends its streams): open it again after the last event.
    downSince ??= clock.now();
    if (clock.now() - downSince > budgetMs)
      throw new RemoteError(
        'KUP-CLI-010',
        `lost the event stream of run ${runId} for ${Math.round(budgetMs / 1000)} s: ${problem.message}`,
        { kind: 'unavailable', cause: problem },
      );
    await clock.sleep(backoff, signal).catch(() => undefined);
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
  }
}

/** One SSE frame: its fields (`data` lines joined by newlines). */
interface SseFrame {
  readonly id?: string;
  readonly event: string;
  readonly data: string;
}

/** The frames of an SSE body, those of each chunk together; a broken connection rejects as unavailable. */
async function* sseFrames(res: Response): AsyncGenerator<SseFrame[], void, undefined> {
  if (res.body === null) return;
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true }).replace(/\r\n?/g, '\n');
      const frames: SseFrame[] = [];
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (frame !== undefined) frames.push(frame);
      }
      if (frames.length > 0) yield frames;
    }
  } catch (err) {
    throw new RemoteError('KUP-CLI-010', `the event stream broke: ${(err as Error).message}`, {
      kind: 'unavailable',
      cause: err,
    });
  }
}

/** A frame's fields, as the SSE specification reads them; undefined for a frame of comments only. */
function parseFrame(text: string): SseFrame | undefined {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (id === undefined && data.length === 0) return undefined;
  return { ...(id !== undefined ? { id } : {}), event, data: data.join('\n') };
}
