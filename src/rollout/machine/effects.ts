/**
 * From a unit's in-flight action to the effect the executor performs, and the crash-safety entry point
 * {@link pendingEffects}: the effects of every action that was asked and not reported back, rebuilt from the state
 * alone, with the same idempotency keys as when they were first issued.
 *
 * @module
 */
import type { PlanBatch, PlanStep, WorkerNodeStep } from '../plan-types.ts';
import { stepActions } from '../plan-steps.ts';
import { RunErrorCode, RunTransitionError } from './errors.ts';
import type { ActionEffect, RollbackStep, RunState, UnitProgress } from './types.ts';
import { currentNode, idempotencyKey, isTerminal, unitActions, unitSpec } from './state.ts';

/**
 * The effect of a unit's in-flight action. Pure: the same state gives the same effect, which is what makes a
 * re-issue after a crash act at most once (the idempotency key is the same).
 * @throws {RunTransitionError} `KUP-RUN-003` when the unit has nothing in flight or its key is unknown.
 */
export function effectOf(state: RunState, unit: UnitProgress): ActionEffect {
  const flight = unit.inFlight;
  const spec = unitSpec(state, unit.key);
  if (!flight || !spec) {
    throw new RunTransitionError(RunErrorCode.invalidState, `unit ${unit.key} has no action in flight`, {
      runId: state.runId,
    });
  }
  const earlier = unitActions(spec, unit).slice(0, flight.index).filter((a) => a === flight.action).length;
  const base = {
    key: unit.key,
    idempotencyKey: idempotencyKey(unit.key, flight.action, flight.generation, earlier + 1),
    attempt: flight.attempt,
    notBefore: flight.notBefore,
  };
  const node = unit.node ?? '';
  switch (spec.kind) {
    case 'precheck':
      return { ...base, type: 'precheck', target: state.plan.to };
    case 'gate':
      return gateEffect(state, spec.ref.batch, flight.action, base, flight.until);
    case 'rollback':
      return rollbackEffect(state, spec.step, unit, flight.index, base);
    case 'taint':
      return { ...base, type: 'taint-nodes', nodes: nodesToReplace(state, spec.phase) };
    case 'untaint':
      return { ...base, type: 'taint-nodes', nodes: null };
    case 'step':
      break;
  }
  const step = spec.ref.step;
  switch (flight.action) {
    case 'take-snapshot':
      return { ...base, type: 'take-snapshot', name: step.kind === 'snapshot' ? step.name : unit.key };
    case 'postcheck':
      return {
        ...base,
        type: 'postcheck',
        target: state.plan.to,
        ...(state.quarantined.length > 0 ? { quarantined: state.quarantined.map((q) => q.node) } : {}),
        ...(state.failingBefore !== undefined ? { failingBefore: state.failingBefore } : {}),
      };
    case 'upgrade-cp-node':
      if (step.kind !== 'control-plane-node') break;
      return {
        ...base,
        type: 'upgrade-cp-node',
        node: step.node,
        version: step.to,
        components: step.components,
        rollback: false,
      };
    case 'check-api-health':
      return { ...base, type: 'check-api-health', node };
    case 'cordon':
      return { ...base, type: 'cordon', node };
    case 'drain':
      return { ...base, type: 'drain', node, force: flight.force };
    case 'uncordon':
      return { ...base, type: 'uncordon', node };
    case 'replace-node':
      if (step.kind !== 'worker-node') break;
      return { ...base, type: 'replace-node', node, pool: step.pool, target: step.to };
    case 'upgrade-node-in-place':
      if (step.kind !== 'worker-node') break;
      return { ...base, type: 'upgrade-node-in-place', node, pool: step.pool, target: step.to };
    case 'wait-node-ready':
      return {
        ...base,
        type: 'wait-node-ready',
        node: unit.newNode ?? node,
        ...(step.kind === 'worker-node' ? { target: step.to } : {}),
        ...(unit.newNode !== undefined && drainsAfterReady(step) ? { thenDrains: node } : {}),
      };
    case 'delete-old-node': {
      const by = step.kind === 'worker-node' ? greenNode(state, step) ?? unit.newNode : unit.newNode;
      return { ...base, type: 'delete-old-node', node, ...(by !== undefined ? { replacedBy: by } : {}) };
    }
    case 'discard-replacement':
      // The step's own replacement, which never became Ready: removed (a node already gone is done) before a new one.
      if (unit.newNode === undefined) break;
      return { ...base, type: 'discard-replacement', node: unit.newNode };
    case 'label-node':
      return { ...base, type: 'label-node', node, labels: { [state.options.quarantineLabel]: 'true' } };
    case 'soak':
      // The node soak: the step's node has run its time before the next batch starts.
      if (step.kind !== 'worker-node') break;
      return { ...base, type: 'soak', durationMs: step.soakMs ?? 0, until: flight.until ?? 0 };
    default:
      break;
  }
  throw new RunTransitionError(RunErrorCode.invalidState, `step ${unit.key} cannot perform ${flight.action}`, {
    runId: state.runId,
  });
}

/**
 * The nodes a pool move will replace or upgrade, once each, as they are now: its slots' current nodes, without those
 * the run quarantined (left as they are) or whose step has finished.
 */
function nodesToReplace(state: RunState, phase: number): string[] {
  const out = new Set<string>();
  const held = new Set(state.quarantined.map((q) => q.node));
  for (const batch of state.plan.phases[phase]?.batches ?? []) {
    for (const step of batch.steps) {
      if (step.kind !== 'worker-node' || (state.units[step.key]?.finishedAt ?? null) !== null) continue;
      const node = currentNode(state, step.node);
      if (!held.has(node)) out.add(node);
    }
  }
  return [...out];
}

/** A blue-green step's green node: the node its slot's `green` step made (undefined for other steps, or not yet made). */
export function greenNode(state: RunState, step: WorkerNodeStep): string | undefined {
  if (step.blueGreen === undefined) return undefined;
  return state.units[step.blueGreen.green]?.newNode;
}

/** Whether the step drains its node after waiting for a node to be Ready (a surge replacement). */
function drainsAfterReady(step: PlanStep): boolean {
  const actions = stepActions(step);
  return actions.indexOf('drain') > actions.indexOf('wait-node-ready');
}

function gateEffect(
  state: RunState,
  batch: PlanBatch,
  action: string,
  base: Omit<ActionEffect, 'type'>,
  until: number | null,
): ActionEffect {
  if (action === 'soak') {
    return { ...base, type: 'soak', durationMs: batch.soakMs, until: until ?? 0 };
  }
  if (action === 'postcheck') return canaryPostcheck(state, batch, base);
  const nodes: string[] = [];
  let pool: string | undefined;
  for (const step of batch.steps) {
    if (step.kind !== 'worker-node') continue;
    pool = step.pool;
    const unit = state.units[step.key];
    if (!unit || unit.stage === 'skipped' || unit.stage === 'quarantined') {
      // A quarantined slot's surge node did join the pool.
      if (unit?.stage === 'quarantined' && unit.newNode !== undefined) nodes.push(unit.newNode);
      continue;
    }
    // Blue-green: the pods of a drained blue node went to the green nodes; those are what the batch validates.
    const green = greenNode(state, step);
    nodes.push(green ?? unit.newNode ?? unit.node ?? currentNode(state, step.node));
  }
  return {
    ...base,
    type: 'validate-batch',
    batch: batch.index,
    nodes,
    ...(pool !== undefined ? { pool } : {}),
    ...(state.failingBefore !== undefined ? { failingBefore: state.failingBefore } : {}),
  };
}

/**
 * A canary batch's post-upgrade validation: the postcheck's rules over the whole cluster as it stands mid-run. The
 * control plane is held to the version it runs at this point of the plan; the nodes the run has yet to move are not
 * held to any version, nor is the canary when its pool move does not end at that version (a skew or downgrade move:
 * its wait for Ready checked its kubelet already).
 */
function canaryPostcheck(state: RunState, batch: PlanBatch, base: Omit<ActionEffect, 'type'>): ActionEffect {
  const at = state.cursor.phase;
  let target = state.plan.from;
  for (const phase of state.plan.phases.slice(0, at)) if (phase.kind === 'control-plane') target = phase.to;
  const pending = new Set<string>();
  state.plan.phases.forEach((phase, p) => {
    if (p < at) return;
    for (const b of phase.batches) {
      for (const step of b.steps) {
        if (step.kind !== 'worker-node' || (state.units[step.key]?.finishedAt ?? null) !== null) continue;
        pending.add(currentNode(state, step.node));
      }
    }
  });
  for (const step of batch.steps) {
    if (step.kind !== 'worker-node' || step.to.version === target) continue;
    const unit = state.units[step.key];
    pending.add(unit?.newNode ?? unit?.node ?? currentNode(state, step.node));
  }
  return {
    ...base,
    type: 'postcheck',
    target,
    ...(state.quarantined.length > 0 ? { quarantined: state.quarantined.map((q) => q.node) } : {}),
    ...(state.failingBefore !== undefined ? { failingBefore: state.failingBefore } : {}),
    pending: [...pending].sort(),
  };
}

function rollbackEffect(
  state: RunState,
  step: RollbackStep,
  unit: UnitProgress,
  index: number,
  base: Omit<ActionEffect, 'type'>,
): ActionEffect {
  const action = step.actions[index];
  if (!action) {
    throw new RunTransitionError(RunErrorCode.invalidState, `rollback step ${step.key} has no action ${index}`, {
      runId: state.runId,
    });
  }
  const node = action.node ?? unit.newNode ?? '';
  switch (action.type) {
    case 'cordon':
      return { ...base, type: 'cordon', node };
    case 'drain':
      return { ...base, type: 'drain', node, force: unit.inFlight?.force ?? false };
    case 'uncordon':
      return { ...base, type: 'uncordon', node };
    case 'wait-node-ready':
      return { ...base, type: 'wait-node-ready', node, ...(step.target ? { target: step.target } : {}) };
    case 'delete-old-node':
      return { ...base, type: 'delete-old-node', node };
    case 'label-node':
      return { ...base, type: 'label-node', node, labels: action.labels ?? {} };
    case 'check-api-health':
      return { ...base, type: 'check-api-health', node };
    case 'postcheck':
      // The rollback's checks: the cluster must run what it ran before the run (plan.from), not the target.
      return { ...base, type: 'postcheck', target: state.plan.from };
    case 'rollback-node':
      return {
        ...base,
        type: 'rollback-node',
        node,
        pool: step.pool ?? '',
        strategy: step.strategy ?? 'replace',
        target: step.target ?? { version: '' },
      };
    case 'upgrade-cp-node':
      return {
        ...base,
        type: 'upgrade-cp-node',
        node,
        version: step.target?.version ?? '',
        components: step.components ?? [],
        rollback: true,
      };
    case 'restore-snapshot':
      return { ...base, type: 'restore-snapshot', snapshot: state.snapshot?.id ?? '', staleNodes: staleNodes(state) };
    default:
      throw new RunTransitionError(
        RunErrorCode.invalidState,
        `rollback step ${step.key} cannot perform ${action.type}`,
        {
          runId: state.runId,
        },
      );
  }
}

/** Nodes deleted during the run (forward replacements and rollback), in the order they went. */
function staleNodes(state: RunState): string[] {
  const out: string[] = [];
  for (const unit of Object.values(state.units)) {
    const spec = unitSpec(state, unit.key);
    if (!spec || spec.kind === 'precheck' || spec.kind === 'gate') continue;
    const actions = unit.script ?? spec.actions;
    actions.slice(0, unit.done).forEach((a, i) => {
      if (a !== 'delete-old-node') return;
      const node = spec.kind === 'rollback' ? (spec.step.actions[i]?.node ?? unit.newNode) : unit.node;
      if (node !== undefined && !out.includes(node)) out.push(node);
    });
    for (const node of unit.discarded ?? []) if (!out.includes(node)) out.push(node);
  }
  return out;
}

/**
 * The effects to perform again after a restart: one per action that was asked of the executor and not reported
 * back, rebuilt from the persisted state with its original idempotency key. Finished actions are never among them;
 * `emit-event` never is (events are written with the state). A run that has ended has none.
 */
export function pendingEffects(state: RunState): ActionEffect[] {
  if (isTerminal(state) || state.status.phase === 'pending') return [];
  const out: ActionEffect[] = [];
  for (const unit of Object.values(state.units)) {
    if (unit.inFlight !== null) out.push(effectOf(state, unit));
  }
  return out;
}
