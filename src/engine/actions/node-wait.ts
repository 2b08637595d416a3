/**
 * Waiting for a node to be Ready (and at the version and image it should run), on a watch of that one node: a
 * replacement boots in minutes, and polling every second would cost thousands of requests across a large run.
 */
import { Watch } from '@kubernetes/client-node';
import type { V1Node } from '@kubernetes/client-node';
import type { ClusterConnection } from '../../cluster/connect.ts';
import { statusOf } from '../../cluster/errors.ts';
import { send, watchConfig } from '../../cluster/requests.ts';
import type { EngineClock } from '../context.ts';

/** What a node must show to count as ready for the run. */
export interface NodeReadyTarget {
  /** `1.31.4`: the kubelet must report `v1.31.4`. */
  version?: string;
  /** The OS image the node must run. */
  machineImage?: string;
}

/** Why a node is not ready yet, for messages. */
export function nodeNotReadyReason(node: V1Node | undefined, target: NodeReadyTarget): string | undefined {
  if (!node) return 'not registered';
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return `Ready=${ready?.status ?? 'missing'}${ready?.reason ? ` (${ready.reason})` : ''}`;
  const kubelet = node.status?.nodeInfo?.kubeletVersion ?? '';
  if (target.version && kubelet.replace(/^v/, '').split(/[-+]/)[0] !== target.version) return `kubelet ${kubelet}, expected v${target.version}`;
  const image = node.status?.nodeInfo?.osImage ?? '';
  if (target.machineImage && image !== target.machineImage) return `image ${image}, expected ${target.machineImage}`;
  return undefined;
}

/** Resolves when the node is ready for the target; rejects with the last reason after `timeoutMs`. */
export async function waitForNodeReady(
  conn: ClusterConnection,
  name: string,
  target: NodeReadyTarget,
  timeoutMs: number,
  clock: EngineClock,
  signal: AbortSignal,
): Promise<void> {
  const deadline = clock.now() + timeoutMs;
  let last = 'not checked';
  while (clock.now() < deadline) {
    signal.throwIfAborted();
    let node: V1Node | undefined;
    let resourceVersion: string | undefined;
    try {
      const list = await send(conn, signal, (options) => conn.core.listNode({ fieldSelector: `metadata.name=${name}` }, options));
      node = list.items[0];
      resourceVersion = list.metadata?.resourceVersion;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      last = `cannot read the node: ${(err as Error).message}`;
      await clock.sleep(1000, signal);
      continue;
    }
    const reason = nodeNotReadyReason(node, target);
    if (reason === undefined) return;
    last = reason;
    // Watch this one node until it is ready or a slice of the deadline passes, then re-read (the watch may drop).
    // A node the watch shows ready is ready: the watch delivers the node's versions in order, so reading it again
    // would only repeat what it said.
    const ready = await watchOnce(conn, name, resourceVersion, Math.min(30_000, Math.max(100, deadline - clock.now())), signal, (n) => {
      // What the watch shows is the latest word on the node: a timeout names that, not the last read's.
      const why = nodeNotReadyReason(n, target);
      if (why !== undefined) last = why;
      return why === undefined;
    });
    if (ready) return;
  }
  throw new NodeWaitTimeout(name, timeoutMs, last);
}

/** A node that did not become ready in time. */
export class NodeWaitTimeout extends Error {
  override readonly name = 'NodeWaitTimeout';
  readonly code = 'KUP-ENGINE-002';
  constructor(
    readonly node: string,
    timeoutMs: number,
    readonly lastReason: string,
  ) {
    super(`KUP-ENGINE-002: node ${node} was not ready after ${Math.round(timeoutMs / 1000)}s: ${lastReason}`);
  }
}

function watchOnce(
  conn: ClusterConnection,
  name: string,
  resourceVersion: string | undefined,
  ms: number,
  signal: AbortSignal,
  done: (node: V1Node) => boolean,
): Promise<boolean> {
  return new Promise((resolve) => {
    let finished = false;
    let controller: AbortController | undefined;
    const finish = (ready = false) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      controller?.abort();
      resolve(ready && !signal.aborted);
    };
    const onAbort = () => finish();
    const timer = setTimeout(finish, ms);
    signal.addEventListener('abort', onAbort, { once: true });
    new Watch(watchConfig(conn))
      .watch(
        '/api/v1/nodes',
        { fieldSelector: `metadata.name=${name}`, ...(resourceVersion ? { resourceVersion } : {}), allowWatchBookmarks: false },
        (_type: string, obj: V1Node) => {
          if (done(obj)) finish(true);
        },
        (err: unknown) => {
          // A closed or failed watch (410 included) just ends this slice: the caller re-reads the node.
          if (err && statusOf(err) !== 410) setTimeout(finish, 200);
          else finish();
        },
      )
      .then(
        (c) => {
          controller = c;
          if (finished) c.abort();
        },
        () => setTimeout(finish, 200),
      );
  });
}
