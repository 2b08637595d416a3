/**
 * Waiting for evicted pods to be gone with ONE watch of the node's pods (`fieldSelector=spec.nodeName=<node>`), from
 * the resourceVersion of the drain's list, instead of kubectl's GET of every pod every second. A pod is gone when its
 * UID is DELETED, or when another pod of the same namespace/name appears (a replacement: kubectl's "new UID" test).
 * A watch that closes is resumed from the last resourceVersion seen (bookmarks keep it fresh); a 410 Expired (the
 * history no longer reaches back) makes it relist the node's pods and start over from the list (watch-loop.ts).
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { ClusterConnection } from '../kube-api/connect.ts';
import { abortReason } from './abort.ts';
import { send } from '../kube-api/requests.ts';
import type { Clock } from '../clock/clock.ts';
import { runResumableWatch } from './watch-loop.ts';

/** Options of watchNodePods. */
export interface WatchNodePodsOptions {
  /** Stops the watch for good (the presence cannot be used after). */
  signal?: AbortSignal;
  clock: Clock;
  /** Server-side timeout of each watch request, in seconds; the watch resumes after it. @default 300 */
  watchTimeoutSeconds?: number;
  /** Page size of a relist. @default 500 */
  chunkSize?: number;
  /** Called for watch errors that are retried (for diagnostics). */
  onRetry?: (err: unknown) => void;
}

/** What is known about the node's pods: which UIDs are still there. */
export interface PodPresence {
  /** Whether the pod with this UID is gone (deleted or replaced). UIDs never seen count as gone. */
  isGone(uid: string): boolean;
  /** Resolves once the pod is gone; rejects with the signal's reason when it aborts first. */
  whenGone(uid: string, signal?: AbortSignal): Promise<void>;
  /** How many times the watch was (re)started and the node relisted: for tests and benchmarks. */
  readonly stats: { watches: number; relists: number };
  /** Stops watching and waits until the background loop has ended. */
  close(): Promise<void>;
}

interface PodKey {
  uid: string;
  key: string;
}

/** UID and namespace/name of a pod, typed (a list) or raw JSON (a watch event). */
function keyOfRaw(obj: unknown): PodKey | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const { uid, name, namespace } = meta as Record<string, unknown>;
  if (typeof uid !== 'string' || typeof name !== 'string') return undefined;
  return { uid, key: `${typeof namespace === 'string' ? namespace : ''}/${name}` };
}

/**
 * Starts watching a node's pods from `resourceVersion`, knowing `initial` (the pods the list returned) to be there.
 */
export function watchNodePods(
  conn: ClusterConnection,
  nodeName: string,
  initial: { pods: readonly V1Pod[]; resourceVersion: string },
  options: WatchNodePodsOptions,
): PodPresence {
  const fieldSelector = `spec.nodeName=${nodeName}`;
  const present = new Map<string, string>(); // uid -> namespace/name
  const uidByKey = new Map<string, string>(); // namespace/name -> uid
  const waiters = new Map<string, Set<() => void>>();
  const stop = new AbortController();
  const outer = options.signal;
  const onOuterAbort = () => stop.abort(outer?.reason);
  if (outer?.aborted) stop.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  const stats = { watches: 0, relists: 0 };

  const markGone = (uid: string) => {
    const key = present.get(uid);
    present.delete(uid);
    if (key !== undefined && uidByKey.get(key) === uid) uidByKey.delete(key);
    const ws = waiters.get(uid);
    if (ws) {
      waiters.delete(uid);
      for (const w of ws) w();
    }
  };
  const markPresent = (pk: PodKey) => {
    const previous = uidByKey.get(pk.key);
    if (previous !== undefined && previous !== pk.uid) markGone(previous); // a replacement took the name
    present.set(pk.uid, pk.key);
    uidByKey.set(pk.key, pk.uid);
  };
  const resetTo = (pods: readonly unknown[]) => {
    const seen = new Set<string>();
    for (const p of pods) {
      const pk = keyOfRaw(p);
      if (!pk) continue;
      seen.add(pk.uid);
      markPresent(pk);
    }
    for (const uid of [...present.keys()]) if (!seen.has(uid)) markGone(uid);
  };
  resetTo(initial.pods);

  const relist = async (signal: AbortSignal) => {
    const pods: V1Pod[] = [];
    let token: string | undefined;
    let rv = '';
    do {
      const page = await send(conn, signal, (o) =>
        conn.core.listPodForAllNamespaces(
          { fieldSelector, limit: options.chunkSize ?? 500, ...(token ? { _continue: token } : {}) },
          o,
        ),
      );
      pods.push(...page.items);
      rv ||= page.metadata?.resourceVersion ?? '';
      token = page.metadata?._continue || undefined;
    } while (token);
    return { items: pods, resourceVersion: rv };
  };

  const running = runResumableWatch(conn, {
    path: '/api/v1/pods',
    query: { fieldSelector },
    resourceVersion: initial.resourceVersion,
    relist,
    onEvent: (type, obj) => {
      const pk = keyOfRaw(obj);
      if (!pk) return;
      if (type === 'DELETED') markGone(pk.uid);
      else markPresent(pk);
    },
    onRelist: (items) => resetTo(items),
    signal: stop.signal,
    clock: options.clock,
    stats,
    ...(options.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
    ...(options.onRetry ? { onRetry: options.onRetry } : {}),
  });

  return {
    stats,
    isGone: (uid) => !present.has(uid),
    whenGone(uid, signal) {
      if (!present.has(uid)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const sig = signal;
        const done = () => {
          sig?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          waiters.get(uid)?.delete(done);
          reject(abortReason(sig));
        };
        if (sig?.aborted) {
          reject(abortReason(sig));
          return;
        }
        sig?.addEventListener('abort', onAbort, { once: true });
        let set = waiters.get(uid);
        if (!set) waiters.set(uid, (set = new Set()));
        set.add(done);
      });
    },
    async close() {
      outer?.removeEventListener('abort', onOuterAbort);
      stop.abort(new Error('watch closed'));
      await running;
    },
  };
}
