/**
 * The rollout plan: what a run will do, in order, before anything moves. Pure: topology, upgrade path and options
 * in, plain data out (it survives a JSON round trip and is what `kup plan` prints and the run state machine steps).
 *
 * Phases, in order:
 * 1. `snapshot`: one step, before the first change (can be turned off; then a rollback after the point of no return
 *    is impossible).
 * 2. `control-plane`: one phase per control-plane hop of the path. Nodes one at a time, in a stable order (natural
 *    sort of names), each upgraded component by component (etcd -> kube-apiserver -> kube-controller-manager ->
 *    kube-scheduler [-> cloud-controller-manager] -> kubelet), with an API health check before the next node. A node
 *    that runs pods beyond static and DaemonSet pods is cordoned and drained first and uncordoned after.
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
import { formatBatchPolicy } from './batches.ts';
import { blueGreenBatches } from './blue-green.ts';
import { PlanError, PlanErrorCode } from './plan-errors.ts';
import { nonNegative, resolveEstimates } from './plan-options.ts';
import { CONTROL_PLANE_ACTIONS, CONTROL_PLANE_DRAIN_ACTIONS, sumActions } from './plan-steps.ts';
import type {
  ActionType,
  ComponentMove,
  ControlPlaneNodeStep,
  NodeTarget,
  PlanBatch,
  PlanControlPlaneNode,
  PlanInput,
  PlanPhase,
  PointOfNoReturn,
  PostcheckStep,
  RolloutPlan,
  SnapshotStep,
  StepEstimates,
  WorkerStrategyCost,
} from './plan-types.ts';
import { ACTION_TYPES, CONTROL_PLANE_COMPONENT_ORDER } from './plan-types.ts';
import { checkImages, readControlPlane, readPools, readVersion } from './plan-topology.ts';
import type { ControlPlaneState, PoolState } from './plan-topology.ts';
import { poolBatches } from './pool-batches.ts';
import type { KubeVersion, PoolMoveReason, WorkerStrategy } from '../versions/index.ts';
import { compareVersions, formatVersion, parseKubeletVersion } from '../versions/index.ts';

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
  const ctx: PlanContext = {
    cluster,
    estimates,
    notes: [],
    phases: [],
    pointOfNoReturn: null,
    hops: 0,
    snapshot: input.snapshot !== false,
  };
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

/**
 * What the worker moves of each plan cost, the chosen plan's strategy first. The plans are of one cluster and target,
 * built from paths that differ only in their worker strategy.
 */
export function workerStrategyCosts(
  chosen: WorkerStrategy,
  plans: readonly { readonly workerStrategy: WorkerStrategy; readonly plan: RolloutPlan }[],
): WorkerStrategyCost[] {
  const costs = plans.map(({ workerStrategy, plan }) => {
    let replacements = 0;
    let inPlaceUpgrades = 0;
    for (const phase of plan.phases) {
      if (phase.kind !== 'pool') continue;
      for (const batch of phase.batches) {
        for (const step of batch.steps) {
          if (step.kind !== 'worker-node') continue;
          if (step.strategy === 'replace') replacements += 1;
          else inPlaceUpgrades += 1;
        }
      }
    }
    return { workerStrategy, replacements, inPlaceUpgrades, chosen: workerStrategy === chosen };
  });
  return costs.sort((a, b) => Number(b.chosen) - Number(a.chosen));
}

/** What the planner accumulates. */
interface PlanContext {
  readonly cluster: string;
  readonly estimates: StepEstimates;
  readonly notes: string[];
  readonly phases: PlanPhase[];
  pointOfNoReturn: PointOfNoReturn | null;
  hops: number;
  /** Whether a snapshot is taken before the first change (the point of no return says what a rollback can do). */
  readonly snapshot: boolean;
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
    const drain = (cp.topo.workloadPods ?? 0) > 0;
    const step: ControlPlaneNodeStep = {
      kind: 'control-plane-node',
      key: `${key}/${cp.topo.node}`,
      node: cp.topo.node,
      ordinal,
      from: formatVersion(stepFrom),
      to: formatVersion(to),
      components: componentMoves(cp.topo, formatVersion(stepFrom), formatVersion(to)),
      ...(drain ? { drain: true } : {}),
      estimateMs: sumActions(drain ? CONTROL_PLANE_DRAIN_ACTIONS : CONTROL_PLANE_ACTIONS, ctx.estimates),
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
        message: ctx.snapshot
          ? `once ${step.node} starts moving from ${step.from} to ${step.to} (etcd, then kube-apiserver, ` +
            `rewrite the cluster's state), a rollback must restore the snapshot taken before the upgrade`
          : `once ${step.node} starts moving from ${step.from} to ${step.to} (etcd, then kube-apiserver, ` +
            `rewrite the cluster's state), nothing brings the control plane back: no snapshot is taken, and a ` +
            `rollback moves only worker nodes back`,
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
    ...(state.options.nodeSoakMs > 0 ? { nodeSoakMs: state.options.nodeSoakMs } : {}),
    ...(state.options.drainBatchSize !== null ? { drainBatchSize: state.options.drainBatchSize } : {}),
    ...(state.options.finalSoakMs > 0 ? { finalSoakMs: state.options.finalSoakMs } : {}),
    ...(state.options.canary ? { canary: true } : {}),
  };
  const batches =
    state.options.strategy === 'blue-green'
      ? blueGreenBatches(common, moves, ctx.estimates)
      : poolBatches(common, moves, 1, ctx.estimates);
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

function normalize(text: string): string {
  try {
    return formatVersion(parseKubeletVersion(text).version);
  } catch {
    return text;
  }
}

/** Keeps a key segment readable and free of `/`: `registry/img:1.2` -> `registry-img-1.2`. */
function sanitize(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'image';
}
