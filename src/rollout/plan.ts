/**
 * The rollout plan: what a run will do, in order, before anything moves. Pure: topology, upgrade path and options
 * in, plain data out (it survives a JSON round trip and is what `kup plan` prints and the run state machine steps).
 *
 * Phases, in order:
 * 1. `snapshot`: one step, before the first change (can be turned off; then a rollback after the point of no return
 *    is impossible).
 * 2. `control-plane`: one phase per control-plane hop of the path. Nodes one at a time, in a stable order (natural
 *    sort of names), each upgraded component by component (etcd -> kube-apiserver -> kube-controller-manager ->
 *    kube-scheduler [-> cloud-controller-manager] -> kubelet), with an API health check before the next node.
 * 3. `pool`: one phase per pool move of the path (and per machine-image move). The pool's nodes in batches under its
 *    batch policy; each node cordoned, drained, replaced (rolling replacement, surge nodes first) or upgraded in
 *    place, waited for, uncordoned where it stays; after each batch a validation, and a soak between batches.
 * 4. `validation`: the post-upgrade checks.
 *
 * Every step, batch and phase has a stable `key` (`cp/1.31.4/cp-1`, `pool/workers/1.31.4/batch-2/workers-5`) that
 * names it in events and makes each of its effects idempotent. Worker steps name a node *slot*: the node as it was
 * when the plan was made. When a pool moves twice with rolling replacement, the second move acts on the node that
 * replaced the slot's first one; the run state machine keeps that lineage.
 *
 * The point of no return is where a rollback stops being "move the nodes back": once the first control-plane node
 * starts moving to a new minor (etcd and kube-apiserver rewrite their storage) or further than the one patch back an
 * in-place downgrade allows, only restoring the snapshot brings the control plane back. A pool-only or image-only
 * plan has none.
 *
 * @module
 */
import { KupError } from '../errors/kup-error.ts';
import { EXPONENTIAL_MAX_SHARE, batchSizes, formatBatchPolicy, parseBatchPolicy } from './batches.ts';
import type { BatchPolicy } from './batches.ts';
import type { KubeVersion, PoolMoveReason, UpgradePath } from '../versions/index.ts';
import { compareVersions, formatVersion, parseKubeletVersion } from '../versions/index.ts';

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

/** How a pool's nodes get the new version or image. */
export type UpgradeStrategy = 'replace' | 'in-place';

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
  'label-node',
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

/**
 * Defaults when nothing was measured: a managed-service-like cluster (a node boots in about a minute and a half,
 * a drain takes about a minute). `soak` is not estimated: it lasts the soak duration.
 */
export const DEFAULT_STEP_ESTIMATES: StepEstimates = Object.freeze({
  precheck: 20_000,
  'take-snapshot': 30_000,
  'upgrade-cp-node': 180_000,
  'check-api-health': 5_000,
  cordon: 1_000,
  drain: 60_000,
  'replace-node': 90_000,
  'upgrade-node-in-place': 60_000,
  'wait-node-ready': 30_000,
  uncordon: 1_000,
  'delete-old-node': 15_000,
  'label-node': 1_000,
  'validate-batch': 5_000,
  soak: 0,
  postcheck: 30_000,
  'rollback-node': 90_000,
  'restore-snapshot': 60_000,
});

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
  readonly estimateMs: number;
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
  /** Actions after every step is done, keyed by the batch key: `validate-batch`, then `soak` when there is one. */
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
}

/** Stable codes of {@link PlanError}. */
export const PlanErrorCode = {
  /** An option cannot be used: a batch policy, a surge value, a soak, an estimate. */
  invalidOption: 'KUP-PLAN-001',
  /** The path or the images name a pool, or a version, that the topology does not have. */
  topologyMismatch: 'KUP-PLAN-002',
  /** The topology itself cannot be read (a version that is not one, a duplicate node). */
  invalidTopology: 'KUP-PLAN-003',
} as const;
/** One of PlanErrorCode's values. */
export type PlanErrorCode = (typeof PlanErrorCode)[keyof typeof PlanErrorCode];

/** A plan that cannot be made; the message starts with the code and names the pool, node or option. */
export class PlanError extends KupError<
  PlanErrorCode,
  { readonly cluster: string; readonly pool?: string; readonly node?: string }
> {
  override readonly name = 'PlanError';
  constructor(
    code: PlanErrorCode,
    message: string,
    details: { readonly cluster: string; readonly pool?: string; readonly node?: string } = { cluster: '' },
    options?: { cause?: unknown },
  ) {
    // Options and the pools or versions asked for are the caller's input; a topology that cannot be read is the
    // cluster's (or its provider's) answer.
    const kind = code === PlanErrorCode.invalidTopology ? 'failed' : 'invalid-input';
    super(code, message, { kind, details, cause: options?.cause });
  }
}

// ---- helpers everyone uses -----------------------------------------------------------------------------------------

/**
 * The actions of a step, in order. Worker nodes:
 * - in place: cordon, drain, upgrade-node-in-place, wait-node-ready, uncordon;
 * - replacement with surge: replace-node (the new node), cordon, wait-node-ready (the new node), drain,
 *   delete-old-node. The old node is cordoned while its replacement boots, as Karpenter taints a node it disrupts
 *   before its replacement is up: a pod scheduled there meanwhile would only be evicted again moments later;
 * - replacement without surge: cordon, drain, replace-node, wait-node-ready, delete-old-node.
 * A control-plane node: upgrade-cp-node, check-api-health.
 */
export function stepActions(step: PlanStep): readonly ActionType[] {
  switch (step.kind) {
    case 'snapshot':
      return SNAPSHOT_ACTIONS;
    case 'control-plane-node':
      return CONTROL_PLANE_ACTIONS;
    case 'postcheck':
      return POSTCHECK_ACTIONS;
    case 'worker-node':
      if (step.strategy === 'in-place') return IN_PLACE_ACTIONS;
      return step.surge ? SURGE_ACTIONS : REPLACE_ACTIONS;
  }
}

const SNAPSHOT_ACTIONS: readonly ActionType[] = Object.freeze(['take-snapshot']);
const CONTROL_PLANE_ACTIONS: readonly ActionType[] = Object.freeze(['upgrade-cp-node', 'check-api-health']);
const POSTCHECK_ACTIONS: readonly ActionType[] = Object.freeze(['postcheck']);
const IN_PLACE_ACTIONS: readonly ActionType[] = Object.freeze([
  'cordon',
  'drain',
  'upgrade-node-in-place',
  'wait-node-ready',
  'uncordon',
]);
const SURGE_ACTIONS: readonly ActionType[] = Object.freeze([
  'replace-node',
  'cordon',
  'wait-node-ready',
  'drain',
  'delete-old-node',
]);
const REPLACE_ACTIONS: readonly ActionType[] = Object.freeze([
  'cordon',
  'drain',
  'replace-node',
  'wait-node-ready',
  'delete-old-node',
]);

/** Every step of the plan, in plan order. */
export function planSteps(plan: RolloutPlan): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const phase of plan.phases) for (const batch of phase.batches) steps.push(...batch.steps);
  return steps;
}

/** Compares node names so that `node-2` sorts before `node-10`; deterministic, no locale. */
export function compareNodeNames(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  if (pa.length !== pb.length) return pa.length - pb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The batches of a pool move's node steps, for `count` of them out of a pool of `poolSize`: the policy's sizes
 * (the exponential 10 % cap taken of the whole pool, so the first batch after a pause is one node again, as ACK
 * does), each cut to at most `maxSurge + maxUnavailable` nodes when those are set. Exported for the run state
 * machine's re-plan on resume.
 */
export function poolBatchSizes(
  count: number,
  poolSize: number,
  policy: BatchPolicy,
  limits: {
    readonly maxSurge: number | null;
    readonly maxUnavailable: number | null;
    readonly strategy: UpgradeStrategy;
  },
): number[] {
  let sizes: number[];
  if (policy.kind === 'exponential') {
    const cap = Math.max(1, Math.floor(Math.max(poolSize, count) * EXPONENTIAL_MAX_SHARE));
    sizes = [];
    let left = count;
    for (let next = 1; left > 0; next *= 2) {
      const size = Math.min(next, cap, left);
      sizes.push(size);
      left -= size;
    }
  } else {
    sizes = batchSizes(count, policy);
  }
  const cap = batchCap(limits);
  if (cap === null) return sizes;
  return sizes.flatMap((size) => {
    const parts: number[] = [];
    for (let left = size; left > 0; left -= cap) parts.push(Math.min(cap, left));
    return parts;
  });
}

function batchCap(limits: {
  readonly maxSurge: number | null;
  readonly maxUnavailable: number | null;
  readonly strategy: UpgradeStrategy;
}): number | null {
  if (limits.strategy === 'in-place') return limits.maxUnavailable;
  if (limits.maxSurge === null) return null;
  return limits.maxSurge + (limits.maxUnavailable ?? 0);
}

/**
 * Builds the steps of a pool move for the given node slots (in order), numbering batches from `firstIndex`.
 * Exported for the run state machine's re-plan on resume; {@link buildPlan} uses it too.
 */
export function poolBatches(
  phase: Pick<
    PoolPhase,
    'key' | 'pool' | 'strategy' | 'maxSurge' | 'maxUnavailable' | 'poolSize' | 'batchPolicy' | 'soakMs'
  >,
  nodes: readonly { readonly node: string; readonly from: NodeTarget; readonly to: NodeTarget }[],
  firstIndex: number,
  estimates: StepEstimates,
): PlanBatch[] {
  const policy = parseBatchPolicy(phase.batchPolicy);
  const sizes = poolBatchSizes(nodes.length, phase.poolSize, policy, phase);
  const batches: PlanBatch[] = [];
  let at = 0;
  sizes.forEach((size, i) => {
    const index = firstIndex + i;
    const key = `${phase.key}/batch-${index}`;
    const surgeCount = phase.strategy === 'replace' ? Math.min(size, phase.maxSurge ?? size) : 0;
    const steps: WorkerNodeStep[] = nodes.slice(at, at + size).map((n, j) => {
      const draft: WorkerNodeStep = {
        kind: 'worker-node',
        key: `${key}/${n.node}`,
        node: n.node,
        pool: phase.pool,
        from: n.from,
        to: n.to,
        strategy: phase.strategy,
        surge: j < surgeCount,
        estimateMs: 0,
      };
      return { ...draft, estimateMs: sumActions(stepActions(draft), estimates) };
    });
    at += size;
    const last = at >= nodes.length;
    const soak = last ? 0 : phase.soakMs;
    const gate: ActionType[] = soak > 0 ? ['validate-batch', 'soak'] : ['validate-batch'];
    const longest = Math.max(0, ...steps.map((s) => s.estimateMs));
    batches.push({
      key,
      index,
      steps,
      gate,
      soakMs: soak,
      estimateMs: longest + estimates['validate-batch'] + soak,
    });
  });
  return batches;
}

function sumActions(actions: readonly ActionType[], estimates: StepEstimates): number {
  return actions.reduce((sum, a) => sum + estimates[a], 0);
}

// ---- the planner ---------------------------------------------------------------------------------------------------

interface SlotState {
  readonly node: string;
  version: KubeVersion;
  image: string;
}

interface PoolState {
  readonly pool: PlanPool;
  readonly slots: SlotState[];
  readonly options: ResolvedPoolOptions;
}

interface ResolvedPoolOptions {
  readonly policy: BatchPolicy;
  readonly strategy: UpgradeStrategy;
  readonly maxSurge: number | null;
  readonly maxUnavailable: number | null;
  readonly soakMs: number;
}

/**
 * Builds the plan of a run. Pure. Nodes already at a move's target (an interrupted earlier run) are left out, with
 * a note; an upgrade path with nothing to do gives a plan without node steps.
 * @throws {PlanError} `KUP-PLAN-001` for an unusable option, `-002` when the path or images do not fit the topology,
 *   `-003` for a topology that cannot be read.
 */
export function buildPlan(input: PlanInput): RolloutPlan {
  const { cluster } = input;
  const estimates = resolveEstimates(input);
  const measured = Object.keys(input.estimates ?? {}).filter((k): k is ActionType =>
    (ACTION_TYPES as readonly string[]).includes(k),
  );
  const ctx: PlanContext = { cluster, estimates, notes: [], phases: [], pointOfNoReturn: null, hops: 0 };
  const { cpNodes, cpState, cpVersion } = readControlPlane(input);
  const pools = readPools(input, nonNegative(input.soakMs ?? 0, 'soakMs', cluster));

  let from = formatVersion(cpVersion);
  let to = from;
  const { change } = input;
  if (change.kind === 'version') {
    const { path } = change;
    const images = change.images ?? {};
    checkImages(images, pools, cluster, false);
    const pathFrom = readVersion(path.from, cluster);
    if (cpState.length > 0 && compareVersions(pathFrom, cpVersion) !== 0) {
      throw new PlanError(
        PlanErrorCode.topologyMismatch,
        `the upgrade path starts at ${path.from} but the control plane runs ${formatVersion(cpVersion)}`,
        { cluster },
      );
    }
    from = formatVersion(pathFrom);
    to = formatVersion(readVersion(path.to, cluster));
    const lastMove = new Map<string, number>();
    path.steps.forEach((s, i) => {
      if (s.kind === 'pool') lastMove.set(s.pool, i);
    });
    path.steps.forEach((step, i) => {
      if (step.kind === 'control-plane') {
        addControlPlaneHop(ctx, cpState, readVersion(step.from, cluster), readVersion(step.to, cluster));
        return;
      }
      const state = pools.get(step.pool);
      if (!state) {
        throw new PlanError(
          PlanErrorCode.topologyMismatch,
          `the upgrade path moves pool "${step.pool}", which the cluster does not have`,
          { cluster, pool: step.pool },
        );
      }
      const image = lastMove.get(step.pool) === i ? images[step.pool] : undefined;
      const target = { version: readVersion(step.to, cluster), ...(image !== undefined ? { image } : {}) };
      addPoolMove(ctx, state, target, step.reason);
    });
    // Pools given an image but no version move: an image move at the end.
    for (const [name, image] of Object.entries(images)) {
      const state = pools.get(name);
      if (state && !lastMove.has(name)) addPoolMove(ctx, state, { image }, 'image');
    }
  } else {
    checkImages(change.images, pools, cluster, true);
    // In topology order, so the plan does not depend on the order of the record's keys.
    for (const pool of input.topology.pools) {
      const image = change.images[pool.name];
      const state = pools.get(pool.name);
      if (image !== undefined && state) addPoolMove(ctx, state, { image }, 'image');
    }
  }
  for (const [name, state] of pools) {
    if (!ctx.phases.some((p) => p.kind === 'pool' && p.pool === name)) {
      ctx.notes.push(`pool ${name} is left as it is (${state.slots.length} nodes)`);
    }
  }

  const phases = framePhases(ctx, input, to);
  return {
    schema: 1,
    cluster,
    kind: change.kind,
    from,
    to,
    revision: 0,
    phases,
    controlPlaneNodes: cpNodes.map((n) => n.node),
    pointOfNoReturn: ctx.pointOfNoReturn,
    expectedDurationMs: phases.reduce((s, p) => s + p.estimateMs, 0),
    estimates,
    measured,
    notes: ctx.notes,
  };
}

/** What the planner accumulates. */
interface PlanContext {
  readonly cluster: string;
  readonly estimates: StepEstimates;
  readonly notes: string[];
  readonly phases: PlanPhase[];
  pointOfNoReturn: PointOfNoReturn | null;
  hops: number;
}

interface ControlPlaneState {
  readonly topo: PlanControlPlaneNode;
  version: KubeVersion;
}

function readControlPlane(input: PlanInput): {
  cpNodes: PlanControlPlaneNode[];
  cpState: ControlPlaneState[];
  cpVersion: KubeVersion;
} {
  const { cluster } = input;
  const cpNodes = [...input.topology.controlPlane].sort((a, b) => compareNodeNames(a.node, b.node));
  checkUnique(
    cpNodes.map((n) => n.node),
    cluster,
    'control-plane node',
  );
  const cpState = cpNodes.map((n) => ({
    topo: n,
    version: readVersion(n.components['kube-apiserver'] ?? n.kubeletVersion, cluster, n.node),
  }));
  return { cpNodes, cpState, cpVersion: oldest(cpState.map((c) => c.version)) };
}

function readPools(input: PlanInput, soakDefault: number): Map<string, PoolState> {
  const { cluster } = input;
  const pools = new Map<string, PoolState>();
  for (const pool of input.topology.pools) {
    if (pools.has(pool.name)) {
      throw new PlanError(PlanErrorCode.invalidTopology, `two worker pools are named "${pool.name}"`, {
        cluster,
        pool: pool.name,
      });
    }
    const nodes = [...pool.nodes].sort((a, b) => compareNodeNames(a.node, b.node));
    checkUnique(
      nodes.map((n) => n.node),
      cluster,
      `node of pool "${pool.name}"`,
    );
    pools.set(pool.name, {
      pool,
      slots: nodes.map((n) => ({
        node: n.node,
        version: readVersion(n.kubeletVersion, cluster, n.node),
        image: n.machineImage,
      })),
      options: resolvePoolOptions(input, pool, cluster, soakDefault),
    });
  }
  for (const name of Object.keys(input.pools ?? {})) {
    if (!pools.has(name)) {
      throw new PlanError(
        PlanErrorCode.topologyMismatch,
        `options name pool "${name}", which the cluster does not have`,
        { cluster, pool: name },
      );
    }
  }
  return pools;
}

function checkImages(
  images: Readonly<Record<string, string>>,
  pools: ReadonlyMap<string, PoolState>,
  cluster: string,
  required: boolean,
): void {
  if (required && Object.keys(images).length === 0) {
    throw new PlanError(PlanErrorCode.invalidOption, 'an image-only plan needs a machine image for at least one pool', {
      cluster,
    });
  }
  for (const [name, image] of Object.entries(images)) {
    if (!pools.has(name)) {
      throw new PlanError(
        PlanErrorCode.topologyMismatch,
        `an image is given for pool "${name}", which the cluster does not have`,
        { cluster, pool: name },
      );
    }
    if (image.trim() === '') {
      throw new PlanError(PlanErrorCode.invalidOption, `the image for pool "${name}" is empty`, {
        cluster,
        pool: name,
      });
    }
  }
}

/** One control-plane hop: each node not at `to` yet, one per batch, in order; marks the point of no return. */
function addControlPlaneHop(ctx: PlanContext, cpState: ControlPlaneState[], from: KubeVersion, to: KubeVersion): void {
  ctx.hops += 1;
  const key = `cp/${formatVersion(to)}`;
  const batches: PlanBatch[] = [];
  for (const cp of cpState) {
    if (compareVersions(cp.version, to) === 0) {
      ctx.notes.push(
        `control-plane node ${cp.topo.node} already runs ${formatVersion(to)}: left out of hop ${ctx.hops}`,
      );
      continue;
    }
    const ordinal = batches.length + 1;
    const stepFrom = cp.version;
    const step: ControlPlaneNodeStep = {
      kind: 'control-plane-node',
      key: `${key}/${cp.topo.node}`,
      node: cp.topo.node,
      ordinal,
      from: formatVersion(stepFrom),
      to: formatVersion(to),
      components: componentMoves(cp.topo, formatVersion(stepFrom), formatVersion(to)),
      estimateMs: sumActions(CONTROL_PLANE_ACTIONS, ctx.estimates),
    };
    cp.version = to;
    if (ctx.pointOfNoReturn === null && !undoableInPlace(stepFrom, to)) {
      ctx.pointOfNoReturn = {
        key: step.key,
        node: step.node,
        action: 'upgrade-cp-node',
        component: 'etcd',
        from: step.from,
        to: step.to,
        message:
          `once ${step.node} starts moving from ${step.from} to ${step.to} (etcd, then kube-apiserver, ` +
          `rewrite the cluster's state), a rollback must restore the snapshot taken before the upgrade`,
      };
    }
    batches.push({
      key: `${key}/batch-${ordinal}`,
      index: ordinal,
      steps: [step],
      gate: [],
      soakMs: 0,
      estimateMs: step.estimateMs,
    });
  }
  if (batches.length === 0) return;
  ctx.phases.push({
    kind: 'control-plane',
    key,
    hop: ctx.hops,
    from: formatVersion(from),
    to: formatVersion(to),
    minorChange: to.major !== from.major || to.minor !== from.minor,
    batches,
    estimateMs: batches.reduce((s, b) => s + b.estimateMs, 0),
  });
}

/** One move of a pool to a version and/or image: the slots not there yet, in batches. */
function addPoolMove(
  ctx: PlanContext,
  state: PoolState,
  to: { readonly version?: KubeVersion; readonly image?: string },
  reason: PoolMoveReason | 'image',
): void {
  const moves: { node: string; from: NodeTarget; to: NodeTarget }[] = [];
  for (const slot of state.slots) {
    const version = to.version ?? slot.version;
    const sameVersion = compareVersions(version, slot.version) === 0;
    const sameImage = to.image === undefined ? sameVersion : to.image === slot.image;
    if (sameVersion && sameImage) {
      ctx.notes.push(
        `${slot.node} (pool ${state.pool.name}) already runs ${formatVersion(version)}${to.image ? ` on ${to.image}` : ''}: left out`,
      );
      continue;
    }
    moves.push({
      node: slot.node,
      from: { version: formatVersion(slot.version), image: slot.image },
      to: { version: formatVersion(version), ...(to.image !== undefined ? { image: to.image } : {}) },
    });
    slot.version = version;
    // Without an explicit image the provider picks the version's image: the planner cannot know its name.
    if (to.image !== undefined) slot.image = to.image;
  }
  if (moves.length === 0) return;
  const label = to.version !== undefined ? formatVersion(to.version) : `image-${sanitize(to.image ?? '')}`;
  const common = {
    key: `pool/${state.pool.name}/${label}`,
    pool: state.pool.name,
    strategy: state.options.strategy,
    batchPolicy: formatBatchPolicy(state.options.policy),
    maxSurge: state.options.maxSurge,
    maxUnavailable: state.options.maxUnavailable,
    poolSize: state.slots.length,
    soakMs: state.options.soakMs,
  };
  const batches = poolBatches(common, moves, 1, ctx.estimates);
  ctx.phases.push({
    kind: 'pool',
    ...common,
    to: { version: moves[0]?.to.version ?? '', ...(to.image !== undefined ? { image: to.image } : {}) },
    reason,
    batches,
    estimateMs: batches.reduce((s, b) => s + b.estimateMs, 0),
  });
}

/** The snapshot before and the validation after the changes (none when nothing changes). */
function framePhases(ctx: PlanContext, input: PlanInput, to: string): PlanPhase[] {
  if (ctx.phases.length === 0) {
    ctx.notes.push('nothing to do: every node already runs the target');
    return [];
  }
  const single = (kind: 'snapshot' | 'validation', step: SnapshotStep | PostcheckStep): PlanPhase => ({
    kind,
    key: step.key,
    batches: [
      { key: `${step.key}/batch-1`, index: 1, steps: [step], gate: [], soakMs: 0, estimateMs: step.estimateMs },
    ],
    estimateMs: step.estimateMs,
  });
  const all: PlanPhase[] = [];
  if (input.snapshot !== false) {
    all.push(
      single('snapshot', {
        kind: 'snapshot',
        key: 'snapshot',
        name: `kup-${ctx.cluster}-before-${input.change.kind === 'version' ? to : 'image-upgrade'}`,
        estimateMs: ctx.estimates['take-snapshot'],
      }),
    );
  }
  all.push(...ctx.phases);
  all.push(single('validation', { kind: 'postcheck', key: 'postcheck', estimateMs: ctx.estimates.postcheck }));
  return all;
}

/** The node's components in upgrade order, those it runs, and the kubelet. */
function componentMoves(node: PlanControlPlaneNode, from: string, to: string): ComponentMove[] {
  const moves: ComponentMove[] = [];
  for (const component of CONTROL_PLANE_COMPONENT_ORDER) {
    if (component === 'kubelet') {
      moves.push({ component, from: normalize(node.kubeletVersion), to });
      continue;
    }
    const current = node.components[component];
    if (current === undefined) continue;
    // etcd follows the target release's pinned version, which only the provider knows.
    moves.push(
      component === 'etcd'
        ? { component, from: current }
        : { component, from: component === 'kube-apiserver' ? from : normalize(current), to },
    );
  }
  return moves;
}

/** Whether a control-plane move can be undone in place: same minor, at most one patch up or down. */
function undoableInPlace(from: KubeVersion, to: KubeVersion): boolean {
  return from.major === to.major && from.minor === to.minor && Math.abs(from.patch - to.patch) <= 1;
}

function resolveEstimates(input: PlanInput): StepEstimates {
  const out: Record<ActionType, number> = { ...DEFAULT_STEP_ESTIMATES };
  for (const [key, value] of Object.entries(input.estimates ?? {})) {
    if (!(ACTION_TYPES as readonly string[]).includes(key)) {
      throw new PlanError(
        PlanErrorCode.invalidOption,
        `estimates: "${key}" is not an action (${ACTION_TYPES.join(', ')})`,
        {
          cluster: input.cluster,
        },
      );
    }
    if (value === undefined) continue;
    out[key as ActionType] = nonNegative(value, `estimates.${key}`, input.cluster);
  }
  return out;
}

function resolvePoolOptions(
  input: PlanInput,
  pool: PlanPool,
  cluster: string,
  soakDefault: number,
): ResolvedPoolOptions {
  const given = { ...(input.defaults ?? {}), ...(input.pools?.[pool.name] ?? {}) };
  let policy: BatchPolicy;
  try {
    policy =
      typeof given.batchPolicy === 'string'
        ? parseBatchPolicy(given.batchPolicy)
        : (given.batchPolicy ?? { kind: 'exponential' });
    // A parsed policy given as an object is re-read through its text form, so a bad size is refused the same way.
    policy = parseBatchPolicy(formatBatchPolicy(policy));
  } catch (cause) {
    throw new PlanError(
      PlanErrorCode.invalidOption,
      `pool "${pool.name}": ${(cause as Error).message}`,
      { cluster, pool: pool.name },
      { cause },
    );
  }
  const strategy = given.strategy ?? 'replace';
  if (strategy !== 'replace' && strategy !== 'in-place') {
    throw new PlanError(
      PlanErrorCode.invalidOption,
      `pool "${pool.name}": strategy "${String(strategy)}" is not replace or in-place`,
      {
        cluster,
        pool: pool.name,
      },
    );
  }
  const size = pool.nodes.length;
  const soakMs = nonNegative(given.soakMs ?? soakDefault, `pools.${pool.name}.soakMs`, cluster);
  if (strategy === 'in-place') {
    if (given.maxSurge !== undefined && readCount(given.maxSurge, size, 'up', pool.name, 'maxSurge', cluster) > 0) {
      throw new PlanError(
        PlanErrorCode.invalidOption,
        `pool "${pool.name}": maxSurge needs the replace strategy (in place adds no nodes)`,
        {
          cluster,
          pool: pool.name,
        },
      );
    }
    const mu =
      given.maxUnavailable === undefined
        ? null
        : readCount(given.maxUnavailable, size, 'down', pool.name, 'maxUnavailable', cluster);
    if (mu === 0) {
      throw new PlanError(
        PlanErrorCode.invalidOption,
        `pool "${pool.name}": maxUnavailable 0 leaves an in-place upgrade nothing to do`,
        {
          cluster,
          pool: pool.name,
        },
      );
    }
    return { policy, strategy, maxSurge: null, maxUnavailable: mu, soakMs };
  }
  if (given.maxSurge === undefined && given.maxUnavailable === undefined) {
    return { policy, strategy, maxSurge: null, maxUnavailable: null, soakMs };
  }
  const maxSurge =
    given.maxSurge === undefined ? 1 : readCount(given.maxSurge, size, 'up', pool.name, 'maxSurge', cluster);
  const maxUnavailable =
    given.maxUnavailable === undefined
      ? 0
      : readCount(given.maxUnavailable, size, 'down', pool.name, 'maxUnavailable', cluster);
  if (maxSurge + maxUnavailable < 1) {
    throw new PlanError(
      PlanErrorCode.invalidOption,
      `pool "${pool.name}": maxSurge and maxUnavailable cannot both be 0`,
      {
        cluster,
        pool: pool.name,
      },
    );
  }
  return { policy, strategy, maxSurge, maxUnavailable, soakMs };
}

/** A count or a percentage of the pool (Cluster API rounds surge up and unavailability down). */
function readCount(
  value: number | string,
  size: number,
  round: 'up' | 'down',
  pool: string,
  field: string,
  cluster: string,
): number {
  const fail = (): never => {
    throw new PlanError(
      PlanErrorCode.invalidOption,
      `pool "${pool}": ${field} ${JSON.stringify(value)} is not a whole number >= 0 or a percentage like "25%"`,
      { cluster, pool },
    );
  };
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : fail();
  const text = value.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) {
    const p = Number(pct[1]);
    if (p > 100) return fail();
    const exact = (size * p) / 100;
    return round === 'up' ? Math.ceil(exact) : Math.floor(exact);
  }
  return /^\d+$/.test(text) ? Number(text) : fail();
}

function nonNegative(value: number, field: string, cluster: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new PlanError(
      PlanErrorCode.invalidOption,
      `${field} must be a number of milliseconds >= 0, not ${String(value)}`,
      {
        cluster,
      },
    );
  }
  return value;
}

function readVersion(text: string, cluster: string, node?: string): KubeVersion {
  try {
    return parseKubeletVersion(text).version;
  } catch (cause) {
    throw new PlanError(
      PlanErrorCode.invalidTopology,
      `${node !== undefined ? `node ${node}: ` : ''}${JSON.stringify(text)} is not a Kubernetes version`,
      { cluster, ...(node !== undefined ? { node } : {}) },
      { cause },
    );
  }
}

function normalize(text: string): string {
  try {
    return formatVersion(parseKubeletVersion(text).version);
  } catch {
    return text;
  }
}

function oldest(versions: readonly KubeVersion[]): KubeVersion {
  let out: KubeVersion | undefined;
  for (const v of versions) if (out === undefined || compareVersions(v, out) < 0) out = v;
  return out ?? { major: 0, minor: 0, patch: 0 };
}

function checkUnique(names: readonly string[], cluster: string, what: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name))
      throw new PlanError(PlanErrorCode.invalidTopology, `two of the ${what}s are named "${name}"`, {
        cluster,
        node: name,
      });
    seen.add(name);
  }
}

/** Keeps a key segment readable and free of `/`: `registry/img:1.2` -> `registry-img-1.2`. */
function sanitize(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'image';
}
