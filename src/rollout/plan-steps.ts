/**
 * What each step of a plan does, in order, and how long it is expected to take.
 *
 * @module
 */
import { BLUE_GREEN_ACTIONS } from './blue-green.ts';
import type { ActionType, PlanStep, RolloutPlan, StepEstimates } from './plan-types.ts';

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
  'discard-replacement': 15_000,
  'label-node': 1_000,
  'taint-nodes': 1_000,
  'validate-batch': 5_000,
  soak: 0,
  postcheck: 30_000,
  'rollback-node': 90_000,
  'restore-snapshot': 60_000,
});

/**
 * The actions of a step, in order. Worker nodes:
 * - in place: cordon, drain, upgrade-node-in-place, wait-node-ready, uncordon;
 * - replacement with surge: replace-node (the new node), cordon, wait-node-ready (the new node), drain,
 *   delete-old-node. The old node is cordoned while its replacement boots, as Karpenter taints a node it disrupts
 *   before its replacement is up: a pod scheduled there meanwhile would only be evicted again moments later;
 * - replacement without surge: cordon, drain, replace-node, wait-node-ready, delete-old-node.
 * A control-plane node: upgrade-cp-node, check-api-health; one that runs workloads (`drain`) is cordoned and
 * drained first and uncordoned last, as kubeadm's runbook does (`kubectl drain --ignore-daemonsets`, upgrade, `kubectl
 * uncordon`).
 * A blue-green step does one stage of its slot's move (`blue-green.ts`).
 * A worker step of a pool with a node soak ends with `soak`: the node runs a while before the step counts as done.
 */
export function stepActions(step: PlanStep): readonly ActionType[] {
  switch (step.kind) {
    case 'snapshot':
      return SNAPSHOT_ACTIONS;
    case 'control-plane-node':
      return step.drain === true ? CONTROL_PLANE_DRAIN_ACTIONS : CONTROL_PLANE_ACTIONS;
    case 'postcheck':
      return POSTCHECK_ACTIONS;
    case 'worker-node': {
      if (step.blueGreen !== undefined) return BLUE_GREEN_ACTIONS[step.blueGreen.stage];
      const actions = step.strategy === 'in-place' ? IN_PLACE_ACTIONS : step.surge ? SURGE_ACTIONS : REPLACE_ACTIONS;
      return (step.soakMs ?? 0) > 0 ? withNodeSoak(actions) : actions;
    }
  }
}

// One frozen list per action list, so that stepActions answers the same array for every soaking step.
const soaking = new WeakMap<readonly ActionType[], readonly ActionType[]>();
function withNodeSoak(actions: readonly ActionType[]): readonly ActionType[] {
  let out = soaking.get(actions);
  if (!out) soaking.set(actions, (out = Object.freeze([...actions, 'soak'])));
  return out;
}

const SNAPSHOT_ACTIONS: readonly ActionType[] = Object.freeze(['take-snapshot']);
/** A control-plane node's actions: the components move, then the API must answer healthy. */
export const CONTROL_PLANE_ACTIONS: readonly ActionType[] = Object.freeze(['upgrade-cp-node', 'check-api-health']);
/** A control-plane node that runs workloads: cordoned and drained first, uncordoned once the API answers healthy. */
export const CONTROL_PLANE_DRAIN_ACTIONS: readonly ActionType[] = Object.freeze([
  'cordon',
  'drain',
  ...CONTROL_PLANE_ACTIONS,
  'uncordon',
]);
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

/** The expected duration of a list of actions, in milliseconds. */
export function sumActions(actions: readonly ActionType[], estimates: StepEstimates): number {
  return actions.reduce((sum, a) => sum + estimates[a], 0);
}
