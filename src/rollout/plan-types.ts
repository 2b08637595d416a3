/**
 * The shapes of a rollout plan: what the planner takes (topology, change, options) and the plain data it gives
 * (phases, batches, steps, the point of no return). No logic: building is `plan.ts`, a step's actions `plan-steps.ts`.
 *
 * @module
 */
import type { BatchPolicy } from './batches.ts';
import type { PoolMoveReason, UpgradePath, WorkerStrategy } from '../versions/index.ts';

// ---- input ---------------------------------------------------------------------------------------------------------

/**
 * A control-plane component, in the order kup upgrades them on a node (kubeadm's order, the seeds' runbook). The
 * kubelet is last; `cloud-controller-manager` only where the node runs one.
 */
export const CONTROL_PLANE_COMPONENT_ORDER = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'cloud-controller-manager',
  'kubelet',
] as const;

/** One of {@link CONTROL_PLANE_COMPONENT_ORDER}. */
export type PlanComponent = (typeof CONTROL_PLANE_COMPONENT_ORDER)[number];

/** A control-plane node as the planner needs it (structurally the engine provider's `ControlPlaneNodeTopology`). */
export interface PlanControlPlaneNode {
  /** Node name. */
  readonly node: string;
  /** Version its kubelet runs (vendor suffix allowed). */
  readonly kubeletVersion: string;
  /** Version of each control-plane component on the node; `kube-apiserver` is the node's control-plane version. */
  readonly components: Readonly<Partial<Record<PlanComponent, string>>>;
  /** Machine image it boots from. */
  readonly machineImage?: string;
  /**
   * Pods on the node beyond static (mirror) and DaemonSet pods, as counted when planning: a node that runs any is
   * cordoned and drained before its components move, as kubeadm's runbook does. Absent: not known, not drained.
   */
  readonly workloadPods?: number;
}

/** A worker node as the planner needs it (structurally the engine provider's `WorkerNodeTopology`). */
export interface PlanWorkerNode {
  readonly node: string;
  readonly kubeletVersion: string;
  readonly machineImage: string;
}

/** A worker pool as the planner needs it (structurally the engine provider's `PoolTopology`). */
export interface PlanPool {
  readonly name: string;
  /** Kubelet version of the pool's template. */
  readonly kubeletVersion: string;
  /** Machine image of the pool's template. */
  readonly machineImage: string;
  readonly nodes: readonly PlanWorkerNode[];
}

/** The machines under the cluster (structurally the engine provider's `Topology`). */
export interface PlanTopology {
  readonly controlPlane: readonly PlanControlPlaneNode[];
  readonly pools: readonly PlanPool[];
}

/**
 * How a pool's nodes get the new version or image: rolling replacement, in place, or blue-green (a whole green set of
 * nodes beside the blue one, then the blue nodes cordoned, drained in batches and deleted after a final soak).
 */
export type UpgradeStrategy = 'replace' | 'in-place' | 'blue-green';

/** What changes: a Kubernetes version (an upgrade path) or only machine images (Gardener's image upgrade). */
export type PlanChange =
  | {
      readonly kind: 'version';
      /** The path from `planUpgradePath`: control-plane hops and pool moves, in order. */
      readonly path: UpgradePath;
      /**
       * Machine image per pool for its last move (`--image`). A pool named here that has no version move gets an
       * image-only move at the end.
       */
      readonly images?: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'image';
      /** The new machine image per pool; pools not named are left alone. */
      readonly images: Readonly<Record<string, string>>;
    };

/** How one pool rolls. */
export interface PoolRolloutOptions {
  /**
   * Batch policy (`exponential`, `fixed:N`, `percent:P`), as text or parsed.
   * @default 'exponential'
   */
  readonly batchPolicy?: BatchPolicy | string;
  /** @default 'replace' */
  readonly strategy?: UpgradeStrategy;
  /**
   * Replacement only: how many new nodes may exist above the pool's size at once, a count or a percentage of the
   * pool rounded up (Cluster API, AKS). When neither this nor `maxUnavailable` is set, every node of a batch gets its
   * replacement before it is drained (no capacity lost); when either is set, the other defaults as Cluster API's
   * (maxSurge 1, maxUnavailable 0) and batches are cut to at most maxSurge + maxUnavailable nodes.
   * @default all nodes of the batch
   */
  readonly maxSurge?: number | string;
  /**
   * How many nodes may be unavailable at once, a count or a percentage rounded down. With replacement, nodes beyond
   * maxSurge are drained before their replacement exists; in place, it caps the batch size.
   * @default 0 (replacement), the batch size (in place)
   */
  readonly maxUnavailable?: number | string;
  /**
   * Wait after each batch but the pool move's last one, in milliseconds; overrides {@link PlanInput.soakMs}.
   * @default PlanInput.soakMs
   */
  readonly soakMs?: number;
  /**
   * Wait after each node's step, in milliseconds (AKS's nodeSoakDuration): the node's step ends only once it has run
   * that long without the run being paused, so a problem it brings shows before the next batch starts.
   * @default 0
   */
  readonly nodeSoakMs?: number;
  /**
   * Blue-green only: how many blue nodes are drained at once, a count or a percentage of the pool rounded up (GKE's
   * batchNodeCount / batchPercentage).
   * @default the batch policy's batches
   */
  readonly drainBatchSize?: number | string;
  /**
   * Blue-green only: the soak once every blue node is drained, in milliseconds, before the blue nodes are deleted
   * (GKE's nodePoolSoakDuration). A rollback during it only uncordons blue and drains green back.
   * @default 0
   */
  readonly finalSoakMs?: number;
  /**
   * Replacement and in place: the pool move's first batch is one node (the canary), and its gate runs the
   * post-upgrade validation (the postcheck's rules, over the whole cluster) after the batch validation, before any
   * other node of the pool moves. Nodes the run has not moved yet are not held against it.
   * @default false
   */
  readonly canary?: boolean;
}

/** Every action a step can be made of; the run state machine turns each into an effect of the same name. */
export const ACTION_TYPES = [
  'precheck',
  'take-snapshot',
  'upgrade-cp-node',
  'check-api-health',
  'cordon',
  'drain',
  'replace-node',
  'upgrade-node-in-place',
  'wait-node-ready',
  'uncordon',
  'delete-old-node',
  /** Removes a step's own replacement that never became Ready, before a new one is made (resume --replace-node). */
  'discard-replacement',
  'label-node',
  /**
   * Puts kup's PreferNoSchedule taint on the nodes a pool move will replace, at the start of its turn (kOps does the
   * same), or takes it off every node that has it (cancel, rollback).
   */
  'taint-nodes',
  'validate-batch',
  'soak',
  'postcheck',
  'rollback-node',
  'restore-snapshot',
] as const;

/** One of {@link ACTION_TYPES}. */
export type ActionType = (typeof ACTION_TYPES)[number];

/** Milliseconds each action is expected to take. */
export type StepEstimates = Readonly<Record<ActionType, number>>;

/** What to plan. */
export interface PlanInput {
  /** The cluster's name in kup's registry. */
  readonly cluster: string;
  readonly topology: PlanTopology;
  readonly change: PlanChange;
  /** Per pool options, by pool name; pools not named use {@link PlanInput.defaults}. */
  readonly pools?: Readonly<Record<string, PoolRolloutOptions>>;
  /** Options of pools not named in {@link PlanInput.pools}. @default {} */
  readonly defaults?: PoolRolloutOptions;
  /** Soak between batches, in milliseconds. @default 0 */
  readonly soakMs?: number;
  /** Measured mean durations per action (milliseconds); the others come from {@link DEFAULT_STEP_ESTIMATES}. */
  readonly estimates?: Readonly<Partial<Record<ActionType, number>>>;
  /** Take a snapshot before the first change. @default true */
  readonly snapshot?: boolean;
}

// ---- output --------------------------------------------------------------------------------------------------------

/** What a worker node runs: kubelet version and machine image (absent: the provider's image for the version). */
export interface NodeTarget {
  readonly version: string;
  readonly image?: string;
}

/** A control-plane component's move on one node, in upgrade order. `to` absent: what the target release pins. */
export interface ComponentMove {
  readonly component: PlanComponent;
  readonly from?: string;
  readonly to?: string;
}

/** The snapshot before the first change. */
export interface SnapshotStep {
  readonly kind: 'snapshot';
  readonly key: string;
  /** Name to give the snapshot. */
  readonly name: string;
  readonly estimateMs: number;
}

/** One control-plane node's upgrade within a hop. */
export interface ControlPlaneNodeStep {
  readonly kind: 'control-plane-node';
  readonly key: string;
  readonly node: string;
  /** 1-based position of the node in the hop (ACK shows "master i of n"). */
  readonly ordinal: number;
  /** kube-apiserver version before and after. */
  readonly from: string;
  readonly to: string;
  readonly components: readonly ComponentMove[];
  /**
   * The node runs pods beyond static and DaemonSet pods: it is cordoned and drained (through the same budget gate
   * as workers) before its components move, and uncordoned once the API answers healthy. Absent in plans made
   * before control-plane drains existed: not drained.
   */
  readonly drain?: boolean;
  readonly estimateMs: number;
}

/** One worker node slot's move within a pool move. */
export interface WorkerNodeStep {
  readonly kind: 'worker-node';
  readonly key: string;
  /** The node slot: the node's name when the plan was made (a later move acts on its replacement). */
  readonly node: string;
  readonly pool: string;
  readonly from: NodeTarget;
  readonly to: NodeTarget;
  readonly strategy: UpgradeStrategy;
  /** Replacement only: the new node is created (and Ready) before the old one is cordoned and drained. */
  readonly surge: boolean;
  /** Node soak: the step ends with a wait of this many milliseconds (absent: none). */
  readonly soakMs?: number;
  /** Blue-green: which of the slot's steps this is (absent for the other strategies). */
  readonly blueGreen?: BlueGreenStage;
  readonly estimateMs: number;
}

/**
 * A slot's steps in a blue-green pool move, in order: `green` makes its green node and waits for it Ready (the green
 * batch's gate validates them all), `cordon` cordons its blue node, `drain` drains it (in drain batches, each
 * validated and soaked), `delete` deletes it once the final soak is over. Each names the slot's `green` step, whose
 * `newNode` is the slot's green node.
 */
export interface BlueGreenStage {
  readonly stage: 'green' | 'cordon' | 'drain' | 'delete';
  /** Key of the slot's `green` step. */
  readonly green: string;
}

/** The post-upgrade validation. */
export interface PostcheckStep {
  readonly kind: 'postcheck';
  readonly key: string;
  readonly estimateMs: number;
}

/** A step of the plan. */
export type PlanStep = SnapshotStep | ControlPlaneNodeStep | WorkerNodeStep | PostcheckStep;

/** Steps that run together; the next batch starts when every step and the gate of this one are done. */
export interface PlanBatch {
  readonly key: string;
  /** 1-based within the phase. */
  readonly index: number;
  readonly steps: readonly PlanStep[];
  /**
   * Actions after every step is done, keyed by the batch key: `validate-batch`, then `postcheck` for a canary batch,
   * then `soak` when there is one.
   */
  readonly gate: readonly ActionType[];
  /** Soak of the gate in milliseconds (0 when the gate has none). */
  readonly soakMs: number;
  /** Critical path of the batch: its longest step plus its gate. */
  readonly estimateMs: number;
}

interface PhaseBase {
  readonly key: string;
  readonly batches: readonly PlanBatch[];
  readonly estimateMs: number;
}

/** The snapshot phase. */
export interface SnapshotPhase extends PhaseBase {
  readonly kind: 'snapshot';
}

/** One control-plane hop: every control-plane node, one at a time. */
export interface ControlPlanePhase extends PhaseBase {
  readonly kind: 'control-plane';
  /** 1-based among the plan's control-plane hops. */
  readonly hop: number;
  readonly from: string;
  readonly to: string;
  /** The hop enters a new minor. */
  readonly minorChange: boolean;
}

/** One move of one pool, in batches. */
export interface PoolPhase extends PhaseBase {
  readonly kind: 'pool';
  readonly pool: string;
  readonly to: NodeTarget;
  /** Why the pool moves here; `image` for a machine-image-only move. */
  readonly reason: PoolMoveReason | 'image';
  readonly strategy: UpgradeStrategy;
  /** The batch policy as text (`exponential`, `fixed:3`, `percent:20`). */
  readonly batchPolicy: string;
  /** Replacement: surge nodes per batch (`null`: every node of the batch). */
  readonly maxSurge: number | null;
  /** Nodes that may be unavailable at once (`null`: the batch size). */
  readonly maxUnavailable: number | null;
  /** Node count of the pool when planned: the exponential policy's 10 % cap is taken of it. */
  readonly poolSize: number;
  /** Soak after each batch but the last, in milliseconds. */
  readonly soakMs: number;
  /** Soak after each node, in milliseconds (absent in plans made before node soak existed: none). */
  readonly nodeSoakMs?: number;
  /** Blue-green: blue nodes drained at once (absent: cut by the batch policy). */
  readonly drainBatchSize?: number;
  /** Blue-green: soak after the last drain batch, before the blue nodes are deleted, in milliseconds. */
  readonly finalSoakMs?: number;
  /** The first batch is one canary node whose gate runs the post-upgrade validation (absent: no canary). */
  readonly canary?: boolean;
}

/** The post-upgrade validation phase. */
export interface ValidationPhase extends PhaseBase {
  readonly kind: 'validation';
}

/** A phase of the plan. */
export type PlanPhase = SnapshotPhase | ControlPlanePhase | PoolPhase | ValidationPhase;

/** Where rolling back stops being "move the nodes back" and needs the snapshot. */
export interface PointOfNoReturn {
  /** The step whose first action crosses it. */
  readonly key: string;
  readonly node: string;
  readonly action: 'upgrade-cp-node';
  /** The first component to move (etcd, then kube-apiserver, rewrite the cluster's stored state). */
  readonly component: 'etcd';
  readonly from: string;
  readonly to: string;
  readonly message: string;
}

/**
 * What a plan's worker moves cost under one worker strategy (see {@link WorkerStrategy}): each pool move counts
 * every node it moves, so a node replaced at two hops counts twice.
 */
export interface WorkerStrategyCost {
  readonly workerStrategy: WorkerStrategy;
  /** Worker nodes replaced by new machines (rolling replacement). */
  readonly replacements: number;
  /** Worker nodes upgraded in place. */
  readonly inPlaceUpgrades: number;
  /** The strategy this plan follows. */
  readonly chosen: boolean;
}

/** The plan of one run. Plain data. */
export interface RolloutPlan {
  /** Schema of this object; bumped when its shape changes. */
  readonly schema: 1;
  readonly cluster: string;
  readonly kind: 'version' | 'image';
  /** Control-plane version before and after (the same for an image-only plan). */
  readonly from: string;
  readonly to: string;
  /** 0 as planned; the run state machine re-plans remaining batches on resume and counts up. */
  readonly revision: number;
  readonly phases: readonly PlanPhase[];
  /** Control-plane nodes in the order they are upgraded. */
  readonly controlPlaneNodes: readonly string[];
  readonly pointOfNoReturn: PointOfNoReturn | null;
  /** Sum of the phases' critical paths (prechecks not included), in milliseconds. */
  readonly expectedDurationMs: number;
  /** The per-action estimates used, and which of them were measured. */
  readonly estimates: StepEstimates;
  readonly measured: readonly ActionType[];
  /** Things the operator should know: nodes already at the target, pools left alone. */
  readonly notes: readonly string[];
  /**
   * A version plan whose control plane makes more than one hop: what each worker strategy costs in node moves, the
   * chosen one first. Absent otherwise (and in plans of runs created before it existed).
   */
  readonly workerStrategies?: readonly WorkerStrategyCost[];
}
