/**
 * The provider interface: what the rollout engine asks of the infrastructure under a cluster. The engine owns this
 * interface and every provider (`sim`, later kubeadm over SSH or a cloud's node groups) implements it; the engine
 * never reaches a machine any other way, and a provider never touches the Kubernetes objects the engine manages
 * (cordon, drain, readiness are the engine's, through the Kubernetes API).
 *
 * ## Idempotency
 * Every call that changes something takes an idempotency `key`: the key of the run step it serves (stable across
 * restarts of kup, unique per step). The engine persists "step started" before the call and "step done" after it, so
 * after a crash it cannot know whether the call took effect: it calls again with the same key, and the provider
 * must then act at most once. A repeated call with the same key and the same arguments resolves as the first did
 * (the same new node, the same snapshot), waiting for the first call's work to finish if it still runs. Reusing a
 * key with different arguments is a programming error and rejects. Calls whose effect converges (delete a node,
 * restore a snapshot) are idempotent by nature; they still take the key so that every call reads the same.
 *
 * ## Cancellation
 * Every call takes an `AbortSignal`. When it aborts, the call stops waiting and rejects with `signal.reason` as is
 * (not wrapped), so the engine can tell its own cancellation from a failure. Aborting does not undo what the provider
 * already started: an upgrade or a replacement the infrastructure accepted goes on; calling again with the same key
 * picks it up where it is. A call whose signal is aborted before it starts does nothing.
 *
 * ## Errors
 * Failures reject with a {@link ProviderError}: a stable code (`KUP-PROVIDER-0NN`), whether trying again later may
 * help (`retryable`), and the node, pool or snapshot concerned. Providers retry transient failures themselves within
 * a bounded budget (an apiserver that restarts answers 503 for a while); what reaches the engine is what the budget
 * could not absorb.
 *
 * @module
 */
import { KupError } from '../errors/kup-error.ts';
import type { KupErrorKind } from '../errors/kup-error.ts';

/** Control-plane components a provider upgrades, in kubeadm's order. */
export type ControlPlaneComponent =
  'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'cloud-controller-manager';

/** The version each control-plane component of a node runs (components a provider does not run are absent). */
export type ControlPlaneComponentVersions = Readonly<Partial<Record<ControlPlaneComponent, string>>>;

/** One control-plane node as the infrastructure sees it. */
export interface ControlPlaneNodeTopology {
  /** Node name (the Node object's name). */
  readonly node: string;
  /** Version the node's kubelet runs, e.g. `1.30.4`. */
  readonly kubeletVersion: string;
  /** Version of each control-plane component on the node. */
  readonly components: ControlPlaneComponentVersions;
  /** Machine image the node boots from. */
  readonly machineImage: string;
}

/** One worker node of a pool as the infrastructure sees it. */
export interface WorkerNodeTopology {
  /** Node name (the Node object's name). */
  readonly node: string;
  /** Version the node's kubelet runs. */
  readonly kubeletVersion: string;
  /** Machine image the node boots from. */
  readonly machineImage: string;
}

/** A worker pool (node group, machine deployment): identical nodes created from one template. */
export interface PoolTopology {
  /** Pool name. */
  readonly name: string;
  /** Kubelet version new nodes of the pool get (the template's). */
  readonly kubeletVersion: string;
  /** Machine image new nodes of the pool get (the template's). */
  readonly machineImage: string;
  /** The pool's nodes, booting ones included. */
  readonly nodes: readonly WorkerNodeTopology[];
  /**
   * Who performs the pool's rollout: kup (batch by batch, with its drain and PDB gate, through
   * {@link Provider.replaceWorkerNode}), or the infrastructure's own controller once the control plane has moved (a
   * Cluster API MachineDeployment of a ClusterClass cluster, which the topology controller rolls). The planner leaves
   * the latter out of the plan, with a note. @default 'kup'
   */
  readonly rolloutBy?: 'kup' | 'infrastructure';
}

/** The machines under a cluster: its control-plane nodes and its worker pools. */
export interface Topology {
  readonly controlPlane: readonly ControlPlaneNodeTopology[];
  readonly pools: readonly PoolTopology[];
  /**
   * The control plane's version as the infrastructure reports it, and whose word it is (Cluster API: the control
   * plane's `status.version`). The prechecks use it when the API server does not serve `/version`.
   */
  readonly controlPlaneVersion?: { readonly version: string; readonly source: string };
  /** Where the nodes' versions above come from, for messages: `provider capi (Machine spec.version)`. */
  readonly nodeVersionSource?: string;
}

/** A snapshot of the cluster's state (etcd) and of what its hosts run, taken before the first change of a run. */
export interface SnapshotInfo {
  /** The provider's id of the snapshot; pass it to {@link Provider.restoreSnapshot}. */
  readonly id: string;
  /** When it was taken, RFC 3339. */
  readonly takenAt: string;
  /** Size of the snapshot in bytes. */
  readonly sizeBytes: number;
}

/** What a worker node should run after a replacement or an in-place upgrade. */
export interface WorkerNodeTarget {
  /** Kubelet version, e.g. `1.31.2`. */
  readonly version: string;
  /** Machine image. @default the provider's image for `version` */
  readonly machineImage?: string;
}

/** What {@link Provider.replaceWorkerNode} created. */
export interface ReplaceResult {
  /** Name the new node registers under (it may not have registered yet). */
  readonly newNode: string;
  /** The pool both nodes belong to. */
  readonly pool: string;
}

/** Where the upgrade of one control-plane node stands, as {@link Provider.upgradeControlPlaneNode} reports it. */
export interface ControlPlaneProgress {
  /** The node being upgraded. */
  readonly node: string;
  /**
   * What is happening now: a component being upgraded, its kubelet, `api-health` while the call waits for the
   * Kubernetes API to answer healthy again, `done` at the end.
   */
  readonly step: ControlPlaneComponent | 'kubelet' | 'api-health' | 'done';
  /** A line for the run's events, e.g. `upgrading kube-apiserver to 1.31.2`. */
  readonly message: string;
}

/** Receives progress of a control-plane node upgrade; it must not throw (what it throws is ignored). */
export type ControlPlaneProgressListener = (progress: ControlPlaneProgress) => void;

/** What a provider can do; the planner picks rolling replacement or in-place upgrades from it. */
export interface ProviderCapabilities {
  /** Worker nodes can be replaced by new ones at the target version (rolling replacement, with surge). */
  readonly replace: boolean;
  /** Worker nodes can be upgraded in place. */
  readonly inPlace: boolean;
  /** Snapshots can be taken and restored (without it, a run has no rollback). */
  readonly snapshot: boolean;
  /**
   * The control plane can be moved back a patch (the planner's one allowed downgrade). Cluster API, for one, refuses
   * to lower a control plane's version. @default true
   */
  readonly controlPlaneDowngrade?: boolean;
  /**
   * A pool can hold a second full set of nodes at once, each made by {@link Provider.replaceWorkerNode} beside the
   * node it replaces (a green pool beside the blue one): the blue-green strategy needs it. Absent: it cannot.
   */
  readonly blueGreen?: boolean;
  /**
   * The provider's control-plane upgrade replaces the machines and drains each old one itself (Cluster API's
   * control-plane providers do, before deleting a Machine): kup plans no cordon or drain of control-plane nodes.
   * Absent: kup drains a control-plane node that runs workloads (ADR 009).
   */
  readonly drainsControlPlane?: boolean;
  /**
   * A node's `status.nodeInfo.osImage` names the machine image the provider made it from, so a replacement counts as
   * ready only once it reports the target image (kube-sim's and local nodes do). Cluster API's image is an
   * infrastructure template that a node cannot report: the provider made the Machine from it, and the topology says
   * so. @default true
   */
  readonly nodesReportImage?: boolean;
}

/**
 * The infrastructure under one cluster. Every method takes the step's idempotency `key` and an `AbortSignal`; see
 * the module documentation for what both promise. Methods reject with {@link ProviderError}, or with the signal's
 * reason when it aborts.
 */
export interface Provider {
  /** Provider name, as the cluster registry spells it (`sim`). */
  readonly name: string;
  /** What this provider can do. */
  readonly capabilities: ProviderCapabilities;

  /** The control-plane nodes and worker pools, with the versions and images they run. Reads only. */
  describeTopology(signal: AbortSignal): Promise<Topology>;

  /**
   * Takes a snapshot of the cluster's state and of the versions its hosts run. A repeated call with the same key
   * returns the snapshot the first call took.
   */
  takeSnapshot(key: string, signal: AbortSignal): Promise<SnapshotInfo>;

  /**
   * Restores a snapshot: the cluster's state and the versions and images of the control plane and the nodes that
   * existed when it was taken. Idempotent by nature: restoring the same snapshot again converges to the same state.
   */
  restoreSnapshot(id: string, key: string, signal: AbortSignal): Promise<void>;

  /**
   * Upgrades one control-plane node in place, component by component (etcd, kube-apiserver, controller-manager,
   * scheduler, then the kubelet), and resolves when all of that node's components run `version` and the Kubernetes
   * API answers healthy again. A node already at `version` resolves without change.
   * @param onProgress - told each time the upgrade moves to another component.
   */
  upgradeControlPlaneNode(
    node: string,
    version: string,
    key: string,
    signal: AbortSignal,
    onProgress?: ControlPlaneProgressListener,
  ): Promise<void>;

  /**
   * Rolling replacement: creates a NEW node in the same pool at the target version and image and resolves once the
   * provider has accepted the machine and named it, as Cluster API's Machine or a cloud's instance (waiting for it to
   * boot, register and be Ready, moving pods and deleting the old node are the engine's steps: it waits on a watch
   * of the Node, which no provider poll can match). The old node is not touched. A repeated call with the same key
   * returns the node the first call created.
   */
  replaceWorkerNode(node: string, target: WorkerNodeTarget, key: string, signal: AbortSignal): Promise<ReplaceResult>;

  /** Deletes a worker node's machine (its Node object goes with it). A node already gone resolves. */
  deleteWorkerNode(node: string, key: string, signal: AbortSignal): Promise<void>;

  /**
   * Many {@link Provider.replaceWorkerNode} calls in one (a cloud's node-group API creates a set of machines in one
   * request): the engine uses it when a batch makes many nodes at once, as a blue-green move makes its green pool.
   * Each item keeps the promises of the single call under its own key (a repeated item gets its first node back);
   * the answer has one outcome per item, in order: one item refused does not fail the others. Rejects only when
   * `signal` aborts or the whole request fails. @default the engine calls replaceWorkerNode per node
   */
  replaceWorkerNodes?(items: readonly NodeReplacement[], signal: AbortSignal): Promise<readonly Outcome<ReplaceResult>[]>;

  /**
   * Many {@link Provider.deleteWorkerNode} calls in one, one outcome per item in order (a node already gone is
   * done). @default the engine calls deleteWorkerNode per node
   */
  deleteWorkerNodes?(
    items: readonly { readonly node: string; readonly key: string }[],
    signal: AbortSignal,
  ): Promise<readonly Outcome<void>[]>;

  /** Upgrades a worker node's kubelet (and image) in place; resolves when the node reports the target version. */
  upgradeWorkerNodeInPlace(node: string, target: WorkerNodeTarget, key: string, signal: AbortSignal): Promise<void>;

  /**
   * Tells the infrastructure where the run stands, so that its own controllers agree with kup: `paused` (an operator
   * or a failure paused the run: nothing may move, Cluster API's paused annotation), `running` (going on again), or
   * `ended` (done, failed, cancelled or rolled back: put back what the run changed for its own steps, such as
   * Cluster API rollout strategies). The executor calls it when it first sees the run and whenever its phase changes;
   * it must converge (a second call with the same phase changes nothing). @default nothing to do
   */
  syncRunPhase?(phase: RunPhaseForProvider, signal: AbortSignal): Promise<void>;

  /**
   * What the infrastructure says of the cluster before an upgrade (a management cluster's view: machines that are
   * not running, health checks failing, a rollout already under way). Blockers stop the run as the cluster's own
   * prechecks do (rule `infrastructure`). Reads only. @default no findings
   */
  precheck?(signal: AbortSignal): Promise<readonly ProviderFinding[]>;

  /** Releases what the provider holds open (idle connections); the engine calls it when it is done with it. */
  close?(): void;
}

/** One replacement of {@link Provider.replaceWorkerNodes}: the node, what its replacement runs, the step's key. */
export interface NodeReplacement {
  readonly node: string;
  readonly target: WorkerNodeTarget;
  readonly key: string;
}

/** What one item of a batched provider call came to: its value, or the error the single call would have thrown. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ProviderError };

/** One finding of {@link Provider.precheck}. */
export interface ProviderFinding {
  readonly severity: 'blocker' | 'warning' | 'info';
  /** The infrastructure's objects at fault (`Machine`, `MachineHealthCheck`, ...), most relevant first. */
  readonly objects: readonly { readonly kind: string; readonly name: string; readonly namespace?: string }[];
  readonly message: string;
  readonly remediation: string;
}

/** Where a run stands, as {@link Provider.syncRunPhase} is told. */
export type RunPhaseForProvider = 'running' | 'paused' | 'ended';

/** Stable codes of provider errors. */
export const ProviderErrorCode = {
  /** The provider's settings or the cluster's kubeconfig cannot be used. */
  configuration: 'KUP-PROVIDER-001',
  /** The infrastructure could not be reached, or stayed unavailable past the retry budget. */
  unreachable: 'KUP-PROVIDER-002',
  /** The provider refused the credentials (401, 403). */
  unauthorized: 'KUP-PROVIDER-003',
  /** The node, pool, snapshot or operation does not exist. */
  notFound: 'KUP-PROVIDER-004',
  /** The request was refused as invalid (a version skew violation, a bad field). */
  rejected: 'KUP-PROVIDER-005',
  /** The request conflicts with the state: the node is busy, or the key was used for another request. */
  conflict: 'KUP-PROVIDER-006',
  /** An operation the provider ran ended in failure. */
  operationFailed: 'KUP-PROVIDER-007',
  /** Waiting for an operation or the API's health took longer than allowed. */
  timedOut: 'KUP-PROVIDER-008',
  /** The provider failed on its side (a 5xx), e.g. a snapshot that could not be written. */
  serverError: 'KUP-PROVIDER-009',
  /** The provider answered something kup does not understand. */
  protocol: 'KUP-PROVIDER-010',
  /** The provider does not offer what was asked (see {@link ProviderCapabilities}). */
  unsupported: 'KUP-PROVIDER-011',
  /** No provider has that name. */
  unknownProvider: 'KUP-PROVIDER-012',
} as const;
/** One of ProviderErrorCode's values. */
export type ProviderErrorCode = (typeof ProviderErrorCode)[keyof typeof ProviderErrorCode];

/** What a provider error is about. */
export interface ProviderErrorDetails {
  /** Whether trying again later (with the same key) may succeed. @default false */
  readonly retryable?: boolean;
  /** The provider's name. */
  readonly provider?: string;
  /** The node concerned. */
  readonly node?: string;
  /** The pool concerned. */
  readonly pool?: string;
  /** The snapshot concerned. */
  readonly snapshot?: string;
  /** The provider's operation id, when an operation failed or timed out. */
  readonly operation?: string;
  /** HTTP status of the provider's answer, if there was one. */
  readonly status?: number;
  /** The provider's reason (a Kubernetes Status reason, e.g. `Conflict`). */
  readonly reason?: string;
}

/**
 * A provider call that failed. The message starts with the code and carries the provider's own words, e.g.
 * `KUP-PROVIDER-009: sim: snapshot failed: etcdserver: snapshot failed: ...`.
 */
export class ProviderError extends KupError<ProviderErrorCode, ProviderErrorDetails> {
  override readonly name = 'ProviderError';
  readonly provider: string | undefined;
  readonly node: string | undefined;
  readonly pool: string | undefined;
  readonly snapshot: string | undefined;
  readonly operation: string | undefined;
  readonly status: number | undefined;
  readonly reason: string | undefined;

  constructor(
    code: ProviderErrorCode,
    message: string,
    details: ProviderErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, {
      kind: PROVIDER_ERROR_KIND[code],
      retryable: details.retryable ?? false,
      details,
      cause: options?.cause,
    });
    this.provider = details.provider;
    this.node = details.node;
    this.pool = details.pool;
    this.snapshot = details.snapshot;
    this.operation = details.operation;
    this.status = details.status;
    this.reason = details.reason;
  }
}

const PROVIDER_ERROR_KIND: Readonly<Record<ProviderErrorCode, KupErrorKind>> = {
  // Settings kup stored when the cluster was added (and checked then) that no longer work: not the caller's input.
  [ProviderErrorCode.configuration]: 'failed',
  [ProviderErrorCode.unreachable]: 'unavailable',
  [ProviderErrorCode.unauthorized]: 'unauthorized',
  [ProviderErrorCode.notFound]: 'not-found',
  [ProviderErrorCode.rejected]: 'rejected',
  [ProviderErrorCode.conflict]: 'conflict',
  [ProviderErrorCode.operationFailed]: 'failed',
  [ProviderErrorCode.timedOut]: 'failed',
  [ProviderErrorCode.serverError]: 'failed',
  [ProviderErrorCode.protocol]: 'failed',
  [ProviderErrorCode.unsupported]: 'rejected',
  [ProviderErrorCode.unknownProvider]: 'invalid-input',
};
