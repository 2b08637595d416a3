/**
 * Waiting for a node to be Ready (and at the version and image it should run), on the watch of the cluster's nodes
 * that every wait of the run's session shares (node-watch.ts): a replacement boots in minutes, and polling every
 * second would cost thousands of requests across a large run.
 */
import type { V1Node } from '@kubernetes/client-node';
import { KupError } from '../../errors/kup-error.ts';
import type { ClusterConnection } from '../../kube-api/connect.ts';
import { statusOf } from '../../kube-api/errors.ts';
import { send } from '../../kube-api/requests.ts';
import { abortReason } from '../../drain/abort.ts';
import type { ClusterSession } from '../cluster-session.ts';

/** What a node must show to count as ready for the run. */
export interface NodeReadyTarget {
  /** `1.31.4`: the kubelet must report `v1.31.4` (a node that reports no version at all is not held to it). */
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
  // A node that reports no kubelet version (a partial API server's) is not held to one: the provider made it at the
  // target, and the postcheck reads its version from the provider.
  if (target.version && kubelet !== '' && kubelet.replace(/^v/, '').split(/[-+]/)[0] !== target.version) return `kubelet ${kubelet}, expected v${target.version}`;
  const image = node.status?.nodeInfo?.osImage ?? '';
  if (target.machineImage && image !== target.machineImage) return `image ${image}, expected ${target.machineImage}`;
  return undefined;
}

/** Resolves when the node is ready for the target; rejects with the last reason after `timeoutMs`. */
export function waitForNodeReady(
  session: ClusterSession,
  name: string,
  target: NodeReadyTarget,
  timeoutMs: number,
  signal: AbortSignal,
  /** Told why the node is not ready yet, each time that changes (what a slow step's notice says it waits for). */
  onReason?: (why: string) => void,
): Promise<void> {
  signal.throwIfAborted();
  const { conn, clock } = session;
  return new Promise<void>((resolve, reject) => {
    let last = 'not checked';
    let finished = false;
    const stop = new AbortController();
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      unsubscribe();
      stop.abort();
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => finish(abortReason(signal));
    /** What the cluster says of the node (undefined: not registered): the latest word, by watch or by read. */
    const seen = (node: V1Node | undefined) => {
      const why = nodeNotReadyReason(node, target);
      if (why === undefined) finish();
      else if (why !== last) {
        last = why;
        onReason?.(why);
      }
    };
    // Subscribed before the first read, so that nothing between the read and the watch is missed.
    const unsubscribe = session.watchNode(name, { seen, reset: () => void read() });
    signal.addEventListener('abort', onAbort, { once: true });
    clock.sleep(timeoutMs, stop.signal).then(
      () => finish(new NodeWaitTimeout(name, timeoutMs, last)),
      () => undefined,
    );
    /** Reads the node; on failure, again a second later. */
    const read = async (): Promise<void> => {
      try {
        seen(await readNode(conn, name, stop.signal));
      } catch (err) {
        if (finished) return;
        last = `cannot read the node: ${(err as Error).message}`;
        await clock.sleep(1000, stop.signal).then(read, () => undefined);
      }
    };
    // A slow re-read too, in case the watch misses what it should have said.
    const poll = (): void => {
      clock.sleep(REREAD_MS, stop.signal).then(
        () => read().then(poll),
        () => undefined,
      );
    };
    void read();
    poll();
  });
}

/** How often a wait reads its node again besides watching it. */
const REREAD_MS = 30_000;

async function readNode(conn: ClusterConnection, name: string, signal: AbortSignal): Promise<V1Node | undefined> {
  try {
    return await send(conn, signal, (options) => conn.core.readNode({ name }, options));
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** A node that did not become ready in time. */
export class NodeWaitTimeout extends KupError<'KUP-ENGINE-002', { readonly node: string }> {
  override readonly name = 'NodeWaitTimeout';
  constructor(
    readonly node: string,
    timeoutMs: number,
    readonly lastReason: string,
  ) {
    super('KUP-ENGINE-002', `node ${node} was not ready after ${Math.round(timeoutMs / 1000)}s: ${lastReason}`, {
      kind: 'failed',
      details: { node },
    });
  }
}
