/**
 * One watch of a cluster's nodes shared by every wait for a node of a cluster session: a batch waits for tens
 * of replacements at once, and a watch each was a new connection (ended by an abort, it cannot be reused), for kup
 * and the API server alike.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { Cancel, Clock } from '../clock/clock.ts';
import type { ClusterConnection } from '../kube-api/connect.ts';
import { send } from '../kube-api/requests.ts';
import { backoffDelay } from '../drain/backoff.ts';
import { runResumableWatch } from '../drain/watch-loop.ts';

/** A wait's view of the shared watch: what a node became, and when the watch (re)started and a read is due. */
export interface NodeSubscriber {
  /** The node as the watch saw it; undefined once deleted. */
  readonly seen: (node: V1Node | undefined) => void;
  /** The watch (re)started: whatever happened before is unknown, so the node must be read again. */
  readonly reset: () => void;
}

/**
 * How long the shared node watch outlives its last wait: the next batch's waits often start within a second; a
 * longer pause costs one new watch, and an idle watch holds a connection (and the process) open.
 */
export const NODE_WATCH_IDLE_MS = 2_000;

/**
 * A watch of all the cluster's nodes, for the waits subscribed to it. Nodes change rarely (the kubelet's heartbeats
 * go to Leases), so the watch of all of them says little more than the waits need. It starts from the collection's
 * current version, with no initial list, and asks its subscribers to read their node once it knows that version
 * (and after a relist), so that nothing before it is missed. It stops once nobody has waited for
 * {@link NODE_WATCH_IDLE_MS}, or when closed.
 */
export class NodeWatch {
  private readonly subscribers = new Map<string, Set<NodeSubscriber>>();
  private readonly stop = new AbortController();
  private cancelIdle: Cancel = () => {};
  /** Settles once the watch loop has ended (its last request included). */
  readonly ended: Promise<void>;

  constructor(
    private readonly conn: ClusterConnection,
    private readonly clock: Clock,
    private readonly onStopped: () => void,
  ) {
    this.ended = this.run();
  }

  /** How many waits use the watch now. */
  get waits(): number {
    let n = 0;
    for (const own of this.subscribers.values()) n += own.size;
    return n;
  }

  /** Whether the watch has been stopped. */
  get stopped(): boolean {
    return this.stop.signal.aborted;
  }

  /** Calls `seen` with each version of node `name` the watch sees; `reset` when the node must be read again. */
  subscribe(name: string, subscriber: NodeSubscriber): () => void {
    this.cancelIdle();
    let own = this.subscribers.get(name);
    if (!own) this.subscribers.set(name, (own = new Set()));
    own.add(subscriber);
    return () => {
      own.delete(subscriber);
      if (own.size === 0 && this.subscribers.get(name) === own) this.subscribers.delete(name);
      if (this.subscribers.size === 0 && !this.stopped) {
        this.cancelIdle();
        // An idle timer does not keep a finished command alive.
        this.cancelIdle = this.clock.after(NODE_WATCH_IDLE_MS, () => this.closeIfIdle(), { keepAlive: false });
      }
    };
  }

  /** Stops the watch unless a wait uses it. */
  closeIfIdle(): void {
    if (this.subscribers.size === 0) this.close();
  }

  /** Stops the watch now, used or not (its session closes): its waits hear nothing more. */
  close(): void {
    if (this.stop.signal.aborted) return;
    this.cancelIdle();
    this.onStopped();
    this.stop.abort(new Error('the node watch was closed'));
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
