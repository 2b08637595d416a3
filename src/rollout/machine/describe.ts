/**
 * The words of the run's log: which node an action acts on, blocked pods, the plan and its phases.
 *
 * @module
 */
import type { ActionType, RolloutPlan } from '../plan-types.ts';
import { phaseDirection, planDirection } from '../plan-direction.ts';
import type { Draft } from './draft.ts';
import { unitSpec } from './state.ts';
import type { BlockedPod, UnitProgress } from './types.ts';

export function targetNode(d: Draft, unit: UnitProgress, action: ActionType): string | undefined {
  const spec = unitSpec(d.view(), unit.key);
  if (spec?.kind === 'rollback') {
    const a = spec.step.actions[unit.inFlight?.index ?? Math.max(0, unit.done - 1)];
    return a?.node ?? unit.newNode;
  }
  if (action === 'wait-node-ready') return unit.newNode ?? unit.node;
  // The replacement removed: while in flight it is the unit's new node; once done, the last one discarded.
  if (action === 'discard-replacement') return unit.newNode ?? unit.discarded?.at(-1);
  return unit.node;
}

export function describePods(pods: readonly BlockedPod[]): string {
  if (pods.length === 0) return '';
  const shown = pods
    .slice(0, 3)
    .map((p) => `${p.pod}${p.pdb ? ` blocked by PDB ${p.pdb}` : ''}${p.reason ? ` (${p.reason})` : ''}`);
  return `${shown.join(', ')}${pods.length > 3 ? ` and ${pods.length - 3} more pod(s)` : ''}`;
}

export function describePlan(plan: RolloutPlan): string {
  if (plan.kind === 'image') return `machine-image upgrade of ${plan.cluster}`;
  const downgrade = planDirection(plan) === 'downgrade';
  return `${plan.cluster} ${plan.from} -> ${plan.to}${downgrade ? ' (downgrade)' : ''}`;
}

export function describePhase(phase: RolloutPlan['phases'][number], plan: RolloutPlan): string {
  const verb = phaseDirection(phase) === 'downgrade' ? 'downgrading' : 'upgrading';
  switch (phase.kind) {
    case 'snapshot':
      return 'taking the snapshot';
    case 'control-plane':
      return `${verb} the control plane ${phase.from} -> ${phase.to} (hop ${phase.hop}), one node at a time`;
    case 'pool':
      return `${verb} pool ${phase.pool} to ${phase.to.version}${phase.to.image ? ` (${phase.to.image})` : ''}: ${phase.batches.length} batch(es), ${phase.strategy}`;
    case 'validation':
      return `validating the ${planDirection(plan)}d cluster`;
  }
}
