/**
 * Waiting for a node to be Ready (and at the version and image it should run), on a watch of the cluster's nodes
 * that every wait on the connection shares: a replacement boots in minutes, and polling every second would cost
 * thousands of requests across a large run.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { ClusterConnection } from '../../kube-api/connect.ts';
import { statusOf } from '../../kube-api/errors.ts';
import { send } from '../../kube-api/requests.ts';
import { abortReason } from '../../drain/abort.ts';
import { backoffDelay } from '../../drain/backoff.ts';
import { runResumableWatch } from '../../drain/watch-loop.ts';
import type { Clock } from '../../clock/clock.ts';

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
export function waitForNodeReady(
  conn: ClusterConnection,
  name: string,
  target: NodeReadyTarget,
  timeoutMs: number,
  clock: Clock,
  signal: AbortSignal,
): Promise<void> {
  signal.throwIfAborted();
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
      else last = why;
    };
    // Subscribed before the first read, so that nothing between the read and the watch is missed.
    const unsubscribe = sharedNodeWatch(conn, clock).subscribe(name, seen, () => void read());
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

/** A wait's view of the shared watch: what a node became, and when the watch (re)started and a read is due. */
interface Subscriber {
  readonly seen: (node: V1Node | undefined) => void;
  readonly reset: () => void;
}

/**
 * One watch of the cluster's nodes for every wait on a connection, instead of a list and a watch of its own node
 * each: a batch waits for tens of replacements at once, and each watch of its own was a new connection (ended by an
 * abort, it cannot be reused), for kup and the API server alike. Nodes change rarely (the kubelet's heartbeats go to
 * Leases), so the watch of all of them says little more than the waits need. It starts from the collection's current
 * version, with no initial list, and asks its subscribers to read their node once it knows that version (and after
 * a relist), so that nothing before it is missed. It stops once nobody has waited for a while.
 */
class NodeWatch {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly stop = new AbortController();
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly conn: ClusterConnection,
    private readonly clock: Clock,
    private readonly onStopped: () => void,
  ) {
    void this.run();
  }

  /** Calls `seen` with each version of node `name` the watch sees; `reset` when the node must be read again. */
  subscribe(name: string, seen: Subscriber['seen'], reset: Subscriber['reset']): () => void {
    clearTimeout(this.idle);
    const subscriber = { seen, reset };
    let own = this.subscribers.get(name);
    if (!own) this.subscribers.set(name, (own = new Set()));
    own.add(subscriber);
    return () => {
      own.delete(subscriber);
      if (own.size === 0 && this.subscribers.get(name) === own) this.subscribers.delete(name);
      if (this.subscribers.size === 0) {
        clearTimeout(this.idle);
        this.idle = setTimeout(() => this.close(), NODE_WATCH_IDLE_MS);
        this.idle.unref();
      }
    };
  }

  /** Stops the watch unless a wait uses it. */
  close(): void {
    if (this.subscribers.size > 0) return;
    clearTimeout(this.idle);
    this.onStopped();
    this.stop.abort();
  }

  private resetAll(): void {
    for (const own of this.subscribers.values()) for (const s of own) s.reset();
  }

  /** The collection's current version, from a list of at most one node. */
  private async version(signal: AbortSignal): Promise<string> {
    const list = await send(this.conn, signal, (o) => this.conn.core.listNode({ limit: 1 }, o));
    return list.metadata?.resourceVersion ?? '';
  }

  private async run(): Promise<void> {
    const { signal } = this.stop;
    let resourceVersion: string | undefined;
    for (let failures = 0; resourceVersion === undefined; failures++) {
      try {
        resourceVersion = await this.version(signal);
      } catch {
        if (signal.aborted) return;
        await this.clock.sleep(backoffDelay(failures), signal).catch(() => undefined);
        if (signal.aborted) return;
      }
    }
    this.resetAll();
    await runResumableWatch(this.conn, {
      path: '/api/v1/nodes',
      resourceVersion,
      relist: async (s) => ({ items: [], resourceVersion: await this.version(s) }),
      onRelist: () => this.resetAll(),
      onEvent: (type, obj) => {
        const node = obj as V1Node;
        const own = this.subscribers.get(node.metadata?.name ?? '');
        for (const s of [...(own ?? [])]) s.seen(type === 'DELETED' ? undefined : node);
      },
      signal,
      clock: this.clock,
    });
  }
}

/**
 * How long the shared node watch outlives its last wait: the next batch's waits often start within a second; a
 * longer pause costs one new watch, and an idle watch holds a connection (and the process) open.
 */
const NODE_WATCH_IDLE_MS = 2_000;

const nodeWatches = new WeakMap<ClusterConnection, NodeWatch>();

function sharedNodeWatch(conn: ClusterConnection, clock: Clock): NodeWatch {
  let watch = nodeWatches.get(conn);
  if (!watch) {
    const created: NodeWatch = new NodeWatch(conn, clock, () => {
      if (nodeWatches.get(conn) === created) nodeWatches.delete(conn);
    });
    nodeWatches.set(conn, (watch = created));
  }
  return watch;
}

/** Stops the connection's shared node watch now if no wait uses it (a run ended: nothing to keep it for). */
export function closeIdleNodeWatch(conn: ClusterConnection): void {
  nodeWatches.get(conn)?.close();
}
