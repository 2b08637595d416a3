/**
 * A watch that keeps going: resumed from the last resourceVersion seen when the server closes it (its timeout, a
 * dropped connection; bookmarks keep the version fresh), relisted when the server answers 410 Expired (its history
 * no longer reaches back), with backoff between failed attempts. client-node's Watch is one request; this is the
 * loop around it that an informer would be, without an informer's cache of every object.
 */
import { Watch } from '@kubernetes/client-node';
import type { ClusterConnection } from '../kube-api/connect.ts';
import { watchConfig } from '../kube-api/requests.ts';
import { backoffDelay } from './backoff.ts';
import type { Clock } from '../clock/clock.ts';

/** A watch event's type, minus ERROR and BOOKMARK (handled here). */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Options of runResumableWatch. */
export interface ResumableWatchOptions {
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  /** Extra query parameters (`fieldSelector`, `labelSelector`). */
  query?: Record<string, string>;
  /** The version to start from (a list's). */
  resourceVersion: string;
  /** Lists the collection again (after a 410), returning its items and version. */
  relist: (signal: AbortSignal) => Promise<{ items: unknown[]; resourceVersion: string }>;
  onEvent: (type: WatchEventType, object: unknown) => void;
  /** The full state after a relist: whatever is not in `items` is gone. */
  onRelist: (items: unknown[]) => void;
  /** Ends the loop. */
  signal: AbortSignal;
  clock: Clock;
  /** Server-side timeout of each watch request, in seconds. @default 300 */
  watchTimeoutSeconds?: number;
  /** Each retried failure, for diagnostics. */
  onRetry?: (err: unknown) => void;
  /** Counters, updated in place. */
  stats?: { watches: number; relists: number };
}

function resourceVersionOf(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const rv = (meta as { resourceVersion?: unknown }).resourceVersion;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

function codeOf(obj: unknown): number | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const code = (obj as { code?: unknown; statusCode?: unknown }).code ?? (obj as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Watches until `signal` aborts; resolves then (it never rejects). */
export async function runResumableWatch(conn: ClusterConnection, options: ResumableWatchOptions): Promise<void> {
  const { signal, clock } = options;
  const stats = options.stats ?? { watches: 0, relists: 0 };
  let resourceVersion = options.resourceVersion;

  /** One watch request; resolves when it ends. */
  const watchOnce = async (): Promise<{ expired: boolean; err: unknown; events: number }> => {
    await conn.limiter.acquire(signal);
    stats.watches += 1;
    let expired = false;
    let events = 0;
    return new Promise((resolve) => {
      let controller: AbortController | undefined;
      const onStop = () => controller?.abort();
      signal.addEventListener('abort', onStop, { once: true });
      const finish = (err: unknown) => {
        signal.removeEventListener('abort', onStop);
        resolve({ expired: expired || codeOf(err) === 410, err, events });
      };
      new Watch(watchConfig(conn))
        .watch(
          options.path,
          {
            ...options.query,
            resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: options.watchTimeoutSeconds ?? 300,
          },
          (type: string, obj: unknown) => {
            events += 1;
            if (type === 'ERROR') {
              if (codeOf(obj) === 410) expired = true;
              return;
            }
            const rv = resourceVersionOf(obj);
            if (rv) resourceVersion = rv;
            if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') options.onEvent(type, obj);
          },
          finish,
        )
        .then((c) => {
          controller = c;
          if (signal.aborted) c.abort();
        }, finish);
    });
  };

  let failures = 0;
  const pause = async (err: unknown) => {
    if (err) options.onRetry?.(err);
    await clock.sleep(backoffDelay(failures), signal).catch(() => undefined);
    failures += 1;
  };
  while (!signal.aborted) {
    try {
      const { expired, err, events } = await watchOnce();
      if (signal.aborted) return;
      if (expired) {
        const listed = await options.relist(signal);
        stats.relists += 1;
        options.onRelist(listed.items);
        resourceVersion = listed.resourceVersion;
        failures = 0;
        continue;
      }
      // A clean close (the server's timeout) resumes at once; an error, or a watch that ended without a single
      // event, backs off so a failing server is not hammered.
      if (err || events === 0) await pause(err);
      else failures = 0;
    } catch (err) {
      if (signal.aborted) return;
      await pause(err);
    }
  }
}
