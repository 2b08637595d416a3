/**
 * The `sim` provider: kup's provider interface over kube-sim's infrastructure API (`/sim/v1/` beside the Kubernetes
 * API, same server, same CA and token, all taken from the cluster's kubeconfig). It knows the sim only through HTTP,
 * as a cloud provider plug-in knows its cloud.
 *
 * How the interface's promises are kept:
 * - idempotency: replace and in-place/control-plane upgrades send the step's key as the sim's `idempotencyKey`, so a
 *   repeated call gets the first call's new node or operation back; a snapshot is taken under the key as its name
 *   and looked up by it first; deleting a node that is gone and restoring a snapshot again converge by nature.
 * - waiting: upgrades are sim operations, polled until they end; a replacement is done once the sim has the new machine
 *   (its boot and registration are the engine's wait-node-ready, on a watch).
 * - cancellation: the signal stops the waiting (and any request in flight) and the call rejects with its reason; the
 *   sim's operation goes on, and the same key picks it up again.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../clock/clock.ts';
import { systemClock } from '../../clock/clock.ts';
import type {
  ControlPlaneProgress,
  ControlPlaneProgressListener,
  NodeReplacement,
  Outcome,
  Provider,
  ProviderCapabilities,
  ReplaceResult,
  SnapshotInfo,
  Topology,
  WorkerNodeTarget,
} from '../../engine/provider.ts';
import { ProviderError, ProviderErrorCode } from '../../engine/provider.ts';
import { DEFAULT_RETRY_POLICY, InfraClient, replyMessage, statusToProviderError } from './infra-client.ts';
import type { RetryPolicy, Subject } from './infra-client.ts';
import type { SimOperation } from './wire.ts';
import {
  parseBatchReplies,
  parseOperation,
  parseReplacement,
  parseSnapshotList,
  parseSnapshot,
  parseTopology,
} from './wire.ts';

/** The provider's name in the cluster registry. */
export const SIM_PROVIDER_NAME = 'sim';

/** Options of {@link createSimProvider}. Give `kubeconfigPath` or `kubeconfig`. */
export interface SimProviderOptions {
  /** Path of the cluster's kubeconfig file. */
  readonly kubeconfigPath?: string;
  /** The kubeconfig document itself (YAML or JSON), instead of a file. */
  readonly kubeconfig?: string;
  /** Context to use. @default the kubeconfig's current context */
  readonly context?: string;
  /** Time source for polling, backoff and deadlines. @default the wall clock */
  readonly clock?: Clock;
  /** Jitter source for backoff, in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** How often operations are polled. @default 100 */
  readonly pollIntervalMs?: number;
  /** Retry of transient failures (503, network errors) per request. @default DEFAULT_RETRY_POLICY */
  readonly retry?: Partial<RetryPolicy>;
  /** Longest wait for one upgrade operation. @default 1800000 (30 min) */
  readonly operationTimeoutMs?: number;
  /** Longest wait for the Kubernetes API to answer healthy after a control-plane node upgrade. @default 300000 */
  readonly apiHealthTimeoutMs?: number;
  /** Longest a single HTTP request may take. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Connections to the infrastructure API open at once; more requests wait for one. @default 16 */
  readonly maxConnections?: number;
  /**
   * Whether the infrastructure API has kube-sim's `node-batches` (many node calls in one request). Without them, the
   * batched calls send the single ones. @default true for kube-sim's own API, false for an `infrastructure` elsewhere
   */
  readonly nodeBatches?: boolean;
  /**
   * Where the infrastructure API is when it is not kube-sim's beside the Kubernetes API: the local provider's
   * control API speaks the same protocol on a port of its own. @default kube-sim's (`/sim/v1` on the API server)
   */
  readonly infrastructure?: InfrastructureEndpoint;
}

/** An infrastructure API that speaks kube-sim's protocol somewhere else (see ADR 012). */
export interface InfrastructureEndpoint {
  /** Provider name for messages and errors, e.g. `local`. */
  readonly provider: string;
  /** Base URL, e.g. `https://127.0.0.1:40123` (served with a certificate the kubeconfig's CA verifies). */
  readonly server: string;
  /** Path prefix of the protocol's resources, e.g. `/local/v1`. */
  readonly pathPrefix: string;
}

/** The sim provider; `close` releases its idle connections (it stays usable: the next call opens new ones). */
export interface SimProvider extends Provider {
  replaceWorkerNodes: NonNullable<Provider['replaceWorkerNodes']>;
  deleteWorkerNodes: NonNullable<Provider['deleteWorkerNodes']>;
  close(): void;
}

/** Items of one node-batches request (the sim takes up to 1,000; smaller requests spread over the connections). */
const BATCH_CHUNK = 100;

/** Path segments are escaped: node and snapshot names go into URLs. */
const seg = encodeURIComponent;

/** The components whose version equals the Kubernetes version (etcd has its own numbering). */
const VERSIONED_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/**
 * Creates the sim provider for one cluster.
 * @throws ProviderError `KUP-PROVIDER-001` when the kubeconfig cannot be read or has no such context.
 */
export function createSimProvider(options: SimProviderOptions): SimProvider {
  return new SimInfraProvider(options);
}

/** The sim provider of one cluster: its infrastructure client and timeouts, and a method per provider verb. */
class SimInfraProvider implements SimProvider {
  readonly name: string;
  private readonly prefix: string;
  private readonly api: InfraClient;
  readonly capabilities: ProviderCapabilities = Object.freeze({
    replace: true,
    inPlace: true,
    snapshot: true,
    // A replacement is a new machine beside the old one, and kube-sim bounds a pool only by its hosts' capacity.
    blueGreen: true,
  });
  private readonly clock: NonNullable<SimProviderOptions['clock']>;
  private readonly pollIntervalMs: number;
  private readonly operationTimeoutMs: number;
  private readonly apiHealthTimeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly client: InfraClient;
  private readonly nodeBatches: boolean;

  /** @throws ProviderError `KUP-PROVIDER-001` when the kubeconfig cannot be read or has no such context. */
  constructor(options: SimProviderOptions) {
    const kc = loadKubeConfig(options);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw configError('the kubeconfig has no current cluster: name a context');
    const clock = options.clock ?? systemClock;
    this.clock = clock;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.operationTimeoutMs = options.operationTimeoutMs ?? 1_800_000;
    this.apiHealthTimeoutMs = options.apiHealthTimeoutMs ?? 300_000;
    const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.retry = retry;
    this.name = options.infrastructure?.provider ?? SIM_PROVIDER_NAME;
    this.prefix = options.infrastructure?.pathPrefix ?? '/sim/v1';
    this.nodeBatches = options.nodeBatches ?? options.infrastructure === undefined;
    const clientOptions = {
      kubeConfig: kc,
      provider: this.name,
      clock,
      random: options.random ?? Math.random,
      retry,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
    };
    this.api = new InfraClient({ ...clientOptions, server: cluster.server });
    // kube-sim serves its infrastructure API beside the Kubernetes API; a local cluster's control API has a port of
    // its own (same CA, same token).
    this.client =
      options.infrastructure === undefined ? this.api : new InfraClient({ ...clientOptions, server: options.infrastructure.server });
  }

  close(): void {
    this.client.close();
    this.api.close();
  }

  async describeTopology(signal: AbortSignal): Promise<Topology> {
    const reply = await this.client.send({
      method: 'GET',
      path: `${this.prefix}/topology`,
      signal,
      idempotent: true,
      action: 'describe the topology',
    });
    return parseTopology(reply.body);
  }

  /**
   * Polls an operation until it ends. Polling, not watching: the infrastructure API has no watch, as most cloud
   * APIs hand out an operation id to poll. `onStep` hears each step the first time a poll sees it.
   */
  private async waitForOperation(
    first: SimOperation,
    action: string,
    signal: AbortSignal,
    onStep?: (op: SimOperation) => void,
  ): Promise<SimOperation> {
    const deadline = this.clock.now() + this.operationTimeoutMs;
    const subject: Subject = { node: first.node, operation: first.id };
    let op = first;
    let lastStep: string | undefined;
    for (;;) {
      if (op.step !== lastStep) {
        lastStep = op.step;
        onStep?.(op);
      }
      if (op.state === 'succeeded') return op;
      if (op.state === 'failed') {
        throw new ProviderError(
          ProviderErrorCode.operationFailed,
          `${this.name}: ${action}: operation ${op.id} failed: ${op.message}`,
          {
            provider: this.name,
            ...subject,
          },
        );
      }
      if (this.clock.now() + this.pollIntervalMs > deadline) {
        throw new ProviderError(
          ProviderErrorCode.timedOut,
          `${this.name}: ${action}: operation ${op.id} still ${op.state} after ${this.operationTimeoutMs} ms (${op.message})`,
          { retryable: true, provider: this.name, ...subject },
        );
      }
      await this.clock.sleep(this.pollIntervalMs, signal);
      const reply = await this.client.send({
        method: 'GET',
        path: `${this.prefix}/operations/${seg(op.id)}`,
        signal,
        idempotent: true,
        action,
        subject,
      });
      op = parseOperation(reply.body);
    }
  }

  /**
   * Waits until the Kubernetes API answers `/readyz` with 200. While the only kube-apiserver restarts it answers
   * 503 (a load balancer with no backend does the same): retried with backoff, bounded by `apiHealthTimeoutMs`.
   */
  private async waitForApiHealth(
    node: string,
    signal: AbortSignal,
    report: (p: ControlPlaneProgress) => void,
  ): Promise<void> {
    const deadline = this.clock.now() + this.apiHealthTimeoutMs;
    const { initialDelayMs, maxDelayMs } = this.retry;
    let last = 'no answer yet';
    let reported = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.api.send({
          method: 'GET',
          path: '/readyz',
          signal,
          once: true,
          action: 'check API health',
          subject: { node },
        });
        if (reply.status === 200) return;
        last = `HTTP ${reply.status}: ${replyMessage(reply)}`;
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        last = (err as Error).message;
      }
      if (!reported) {
        reported = true;
        report({ node, step: 'api-health', message: `waiting for the Kubernetes API to answer healthy (${last})` });
      }
      const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 30));
      if (this.clock.now() + delay > deadline) {
        throw new ProviderError(
          ProviderErrorCode.timedOut,
          `${this.name}: the Kubernetes API is not healthy ${this.apiHealthTimeoutMs} ms after upgrading control-plane node ${node}: ${last}`,
          { retryable: true, provider: this.name, node },
        );
      }
      await this.clock.sleep(delay, signal);
    }
  }

  async upgradeControlPlaneNode(
    node: string,
    version: string,
    key: string,
    signal: AbortSignal,
    onProgress?: ControlPlaneProgressListener,
  ): Promise<void> {
    signal.throwIfAborted();
    const report = (p: ControlPlaneProgress): void => {
      try {
        onProgress?.(p);
      } catch {
        // A listener's failure must not fail the upgrade it reports on.
      }
    };
    const action = `upgrade control-plane node ${node} to ${version}`;
    const before = controlPlaneNode(this.name, await this.describeTopology(signal), node, action);
    // Already there (a repeated call after the step took effect, or a node upgraded by hand): nothing to restart.
    if (!runsVersion(before, version)) {
      const reply = await this.client.send({
        method: 'POST',
        path: `${this.prefix}/control-plane/${seg(node)}/upgrade`,
        body: { version, idempotencyKey: key },
        signal,
        idempotent: true,
        action,
        subject: { node },
      });
      await this.waitForOperation(parseOperation(reply.body), action, signal, (op) => {
        const step = progressStep(op.step);
        if (op.state === 'running' && step !== undefined) report({ node, step, message: op.message });
      });
    }
    await this.waitForApiHealth(node, signal, report);
    const after = controlPlaneNode(this.name, await this.describeTopology(signal), node, action);
    if (!runsVersion(after, version)) {
      throw new ProviderError(
        ProviderErrorCode.operationFailed,
        `${this.name}: ${action}: the upgrade ended but the node runs ${describeNode(after)}`,
        { provider: this.name, node },
      );
    }
    report({ node, step: 'done', message: `control plane of ${node} runs ${version}` });
  }

  /** POSTs a worker node's target (version, image) to one of the sim's node verbs, keyed for idempotency. */
  private postNodeTarget(verb: 'replace' | 'upgrade', node: string, target: WorkerNodeTarget, key: string, signal: AbortSignal, action: string): ReturnType<InfraClient['send']> {
    return this.client.send({
      method: 'POST',
      path: `${this.prefix}/nodes/${seg(node)}/${verb}`,
      body: {
        version: target.version,
        ...(target.machineImage !== undefined ? { machineImage: target.machineImage } : {}),
        idempotencyKey: key,
      },
      signal,
      idempotent: true,
      action,
      subject: { node },
    });
  }

  async replaceWorkerNode(
    node: string,
    target: WorkerNodeTarget,
    key: string,
    signal: AbortSignal,
  ): Promise<ReplaceResult> {
    signal.throwIfAborted();
    const reply = await this.postNodeTarget('replace', node, target, key, signal, `replace node ${node} with one at ${target.version}`);
    return parseReplacement(reply.body);
  }

  async replaceWorkerNodes(items: readonly NodeReplacement[], signal: AbortSignal): Promise<readonly Outcome<ReplaceResult>[]> {
    signal.throwIfAborted();
    if (!this.nodeBatches) return oneByOne(items, signal, (i) => this.replaceWorkerNode(i.node, i.target, i.key, signal));
    return this.inChunks(items, signal, async (chunk) => {
      const reply = await this.client.send({
        method: 'POST',
        path: `${this.prefix}/node-batches/replace`,
        body: {
          items: chunk.map(({ node, target, key }) => ({
            node,
            version: target.version,
            ...(target.machineImage !== undefined ? { machineImage: target.machineImage } : {}),
            idempotencyKey: key,
          })),
        },
        signal,
        // Every item carries its key: the whole request may go again.
        idempotent: true,
        action: `replace ${chunk.length} node(s)`,
      });
      return parseBatchReplies(reply.body, chunk.length).map((item, i): Outcome<ReplaceResult> => {
        const { node, target } = chunk[i]!;
        const action = `replace node ${node} with one at ${target.version}`;
        if (item.status >= 300) return { ok: false, error: statusToProviderError(this.name, action, item, { node }) };
        return { ok: true, value: parseReplacement(item.body) };
      });
    });
  }

  async deleteWorkerNodes(
    items: readonly { readonly node: string; readonly key: string }[],
    signal: AbortSignal,
  ): Promise<readonly Outcome<void>[]> {
    signal.throwIfAborted();
    if (!this.nodeBatches) return oneByOne(items, signal, (i) => this.deleteWorkerNode(i.node, i.key, signal));
    return this.inChunks(items, signal, async (chunk) => {
      const reply = await this.client.send({
        method: 'POST',
        path: `${this.prefix}/node-batches/delete`,
        body: { nodes: chunk.map((i) => i.node) },
        signal,
        idempotent: true,
        action: `delete ${chunk.length} node(s)`,
      });
      return parseBatchReplies(reply.body, chunk.length).map((item, i): Outcome<void> => {
        const node = chunk[i]!.node;
        // A node already gone is deleted.
        if (item.status >= 300 && item.status !== 404)
          return { ok: false, error: statusToProviderError(this.name, `delete node ${node}`, item, { node }) };
        return { ok: true, value: undefined };
      });
    });
  }

  /** Sends `items` in requests of BATCH_CHUNK items, all at once (the client bounds its connections). */
  private async inChunks<T, R>(
    items: readonly T[],
    signal: AbortSignal,
    send: (chunk: readonly T[]) => Promise<R[]>,
  ): Promise<R[]> {
    const chunks: T[][] = [];
    for (let i = 0; i < items.length; i += BATCH_CHUNK) chunks.push(items.slice(i, i + BATCH_CHUNK));
    const replies = await Promise.all(chunks.map((chunk) => send(chunk)));
    signal.throwIfAborted();
    return replies.flat();
  }

  async deleteWorkerNode(node: string, _key: string, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    // No key on the sim's side: deleting is idempotent by nature, and a node already gone (404) is done.
    await this.client.send({
      method: 'DELETE',
      path: `${this.prefix}/nodes/${seg(node)}`,
      signal,
      idempotent: true,
      accept: [404],
      action: `delete node ${node}`,
      subject: { node },
    });
  }

  async upgradeWorkerNodeInPlace(
    node: string,
    target: WorkerNodeTarget,
    key: string,
    signal: AbortSignal,
  ): Promise<void> {
    signal.throwIfAborted();
    const action = `upgrade node ${node} in place to ${target.version}`;
    const reply = await this.postNodeTarget('upgrade', node, target, key, signal, action);
    await this.waitForOperation(parseOperation(reply.body), action, signal);
  }

  async takeSnapshot(key: string, signal: AbortSignal): Promise<SnapshotInfo> {
    signal.throwIfAborted();
    // The sim has no idempotency key for snapshots: the key is the snapshot's name, and a snapshot of that name
    // already taken (by a call whose reply a crash lost) is the answer.
    const listed = await this.client.send({
      method: 'GET',
      path: `${this.prefix}/snapshots`,
      signal,
      idempotent: true,
      action: 'list snapshots',
    });
    const existing = parseSnapshotList(listed.body).find((s) => s.name === key);
    if (existing) return snapshotInfo(existing);
    const reply = await this.client.send({
      method: 'POST',
      path: `${this.prefix}/snapshots`,
      body: { name: key },
      signal,
      action: 'take a snapshot',
    });
    return snapshotInfo(parseSnapshot(reply.body));
  }

  async restoreSnapshot(id: string, _key: string, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    // Restoring puts back one fixed state: doing it twice converges, so no key is needed on the sim's side.
    await this.client.send({
      method: 'POST',
      path: `${this.prefix}/snapshots/${seg(id)}/restore`,
      body: {},
      signal,
      idempotent: true,
      action: `restore snapshot ${id}`,
      subject: { snapshot: id },
    });
  }
}

/** Each item's single call, all at once (the client bounds its connections), as one outcome per item. */
async function oneByOne<T, R>(
  items: readonly T[],
  signal: AbortSignal,
  call: (item: T) => Promise<R>,
): Promise<Outcome<R>[]> {
  return Promise.all(
    items.map((item) =>
      call(item).then(
        (value): Outcome<R> => ({ ok: true, value }),
        (err: unknown): Outcome<R> => {
          if (signal.aborted || !(err instanceof ProviderError)) throw err;
          return { ok: false, error: err };
        },
      ),
    ),
  );
}

function loadKubeConfig(options: SimProviderOptions): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig !== undefined) kc.loadFromString(options.kubeconfig);
    else if (options.kubeconfigPath !== undefined) kc.loadFromFile(options.kubeconfigPath);
    else throw new Error('give kubeconfigPath or kubeconfig');
  } catch (err) {
    throw configError(
      `cannot read the kubeconfig${options.kubeconfigPath !== undefined ? ` ${options.kubeconfigPath}` : ''}: ${(err as Error).message}`,
      err,
    );
  }
  if (options.context !== undefined) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw configError(
        `context "${options.context}" is not in the kubeconfig (it has: ${known.join(', ') || 'none'})`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  return kc;
}

function configError(message: string, cause?: unknown): ProviderError {
  return new ProviderError(
    ProviderErrorCode.configuration,
    `${SIM_PROVIDER_NAME}: ${message}`,
    { provider: SIM_PROVIDER_NAME },
    cause !== undefined ? { cause } : undefined,
  );
}

type ControlPlaneNode = Topology['controlPlane'][number];

function controlPlaneNode(provider: string, topology: Topology, node: string, action: string): ControlPlaneNode {
  const found = topology.controlPlane.find((n) => n.node === node);
  if (found) return found;
  const known = topology.controlPlane.map((n) => n.node).join(', ') || 'none';
  throw new ProviderError(
    ProviderErrorCode.notFound,
    `${provider}: ${action}: no control-plane node "${node}" (control-plane nodes: ${known})`,
    {
      provider: provider,
      node,
    },
  );
}

function runsVersion(n: ControlPlaneNode, version: string): boolean {
  return (
    n.kubeletVersion === version &&
    VERSIONED_COMPONENTS.every((c) => n.components[c] === undefined || n.components[c] === version)
  );
}

function describeNode(n: ControlPlaneNode): string {
  return [...VERSIONED_COMPONENTS.map((c) => `${c} ${n.components[c] ?? '-'}`), `kubelet ${n.kubeletVersion}`].join(
    ', ',
  );
}

function progressStep(step: string): ControlPlaneProgress['step'] | undefined {
  switch (step) {
    case 'etcd':
    case 'kube-apiserver':
    case 'kube-controller-manager':
    case 'kube-scheduler':
    case 'cloud-controller-manager':
    case 'kubelet':
    case 'done':
      return step;
    default:
      return undefined;
  }
}

function snapshotInfo(s: SnapshotInfo): SnapshotInfo {
  return { id: s.id, takenAt: s.takenAt, sizeBytes: s.sizeBytes };
}
