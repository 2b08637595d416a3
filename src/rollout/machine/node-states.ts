/**
 * Where each node of a run stands, as Rancher shows it (Active -> Cordoned -> Active): waiting, cordoned, draining,
 * replacing (or upgrading in place, or waiting for Ready), ready, done; quarantined or failed when it stopped there.
 * Pure: read from the run's state and plan, for the console's node table and the run page.
 *
 * @module
 */
import type { ActionType } from '../plan-types.ts';
import { currentNode } from './state.ts';
import type { RunState, UnitProgress } from './types.ts';

/** A node's state in a run. */
export type NodeRunState =
  'waiting' | 'cordoned' | 'draining' | 'replacing' | 'ready' | 'done' | 'quarantined' | 'failed';

/** One node of a run. */
export interface NodeRunView {
  /** The node acted on now (a slot's replacement after an earlier move). */
  readonly node: string;
  /** Pool of a worker; absent for a control-plane node. */
  readonly pool?: string;
  readonly state: NodeRunState;
  /** The action in flight, when one is. */
  readonly action?: ActionType;
  /** The node a replacement created. */
  readonly newNode?: string;
}

/** What a node is doing while `action` runs. */
function doing(action: ActionType): NodeRunState {
  switch (action) {
    case 'cordon':
      return 'cordoned';
    case 'drain':
      return 'draining';
    case 'uncordon':
    case 'delete-old-node':
    case 'label-node':
      return 'ready';
    default:
      return 'replacing';
  }
}

function stateOf(unit: UnitProgress | undefined): NodeRunState {
  if (!unit) return 'waiting';
  if (unit.failure) return 'failed';
  if (unit.inFlight) return doing(unit.inFlight.action);
  switch (unit.stage) {
    case 'pending':
      return 'waiting';
    case 'running':
    case 'cordoned':
      return 'cordoned';
    case 'drained':
    case 'replaced':
    case 'upgraded':
      return 'replacing';
    case 'ready':
    case 'uncordoned':
    case 'old-node-deleted':
      return 'ready';
    case 'done':
    case 'rolled-back':
    case 'skipped':
      return 'done';
    case 'quarantined':
      return 'quarantined';
  }
}

/**
 * Every node step of the plan, in plan order, with where it stands. A node moved by several hops shows its latest
 * step that has started (or its first, while none has).
 */
export function nodeRunStates(state: RunState): readonly NodeRunView[] {
  const bySlot = new Map<string, NodeRunView>();
  for (const phase of state.plan.phases) {
    for (const batch of phase.batches) {
      for (const step of batch.steps) {
        if (step.kind !== 'worker-node' && step.kind !== 'control-plane-node') continue;
        const unit = state.units[step.key];
        if (bySlot.has(step.node) && !unit) continue;
        const view: NodeRunView = {
          node: unit?.node ?? currentNode(state, step.node),
          ...(step.kind === 'worker-node' ? { pool: step.pool } : {}),
          state: stateOf(unit),
          ...(unit?.inFlight ? { action: unit.inFlight.action } : {}),
          ...(unit?.newNode ? { newNode: unit.newNode } : {}),
        };
        bySlot.set(step.node, view);
      }
    }
  }
  return [...bySlot.values()];
}
