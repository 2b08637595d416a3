/**
 * Moving a run on: the next batch's steps start once the batch before it and its gate are done, phase after phase,
 * then the run ends; a cancel finishes once the started steps have, and a rollback steps through its own batches.
 * Nothing starts while the run is paused.
 *
 * @module
 */
import type { PlanStep } from '../plan-types.ts';
import { compareVersions, parseVersion } from '../../versions/index.ts';
import { planDirection } from '../plan-direction.ts';
import { describePhase, describePlan } from './describe.ts';
import type { Draft } from './draft.ts';
import { PRECHECK_KEY, UNTAINT_KEY, activePhaseOf, currentNode, taintKey, unitActions, unitSpec } from './state.ts';
import { startUnit } from './units.ts';

/** Moves the run on: finishes a cancel, starts the next batch or gate, ends the run. Starts nothing while paused. */
export function advance(d: Draft): void {
  const phase = d.s.status.phase;
  if (phase === 'cancelling') {
    if (d.allUnits().some((u) => u.inFlight !== null || u.failure !== null)) return;
    if (!untainted(d)) return;
    const leftBehind = d.s.status.leftBehind ?? [];
    d.setStatus({ phase: 'cancelled', at: d.now, ...(leftBehind.length > 0 ? { leftBehind } : {}) });
    d.log(
      'cancelled',
      leftBehind.length > 0
        ? `cancelled: the started steps finished; nodes done stay upgraded; left behind: ${leftBehind.join('; ')}`
        : 'cancelled: the started steps finished; nodes done stay upgraded, the others were not touched',
    );
    return;
  }
  if (phase === 'rolling-back') {
    advanceRollback(d);
    return;
  }
  if (phase === 'prechecking') {
    const precheck = d.unit(PRECHECK_KEY);
    if (!precheck || precheck.done < 1) return;
  } else if (
    phase !== 'snapshotting' &&
    phase !== 'upgrading-control-plane' &&
    phase !== 'upgrading-pools' &&
    phase !== 'validating'
  ) {
    return;
  }
  const plan = d.s.plan;
  for (;;) {
    const { phase: p, batch: b } = d.s.cursor;
    const planPhase = plan.phases[p];
    if (!planPhase) {
      d.setStatus({ phase: 'succeeded', at: d.now });
      const q = d.s.quarantined.length;
      d.log(
        'succeeded',
        `${planDirection(plan)} finished: ${describePlan(plan)}${q > 0 ? `; ${q} node(s) quarantined: ${d.s.quarantined.map((x) => x.node).join(', ')}` : ''}`,
      );
      return;
    }
    const batch = planPhase.batches[b];
    if (!batch) {
      d.set('cursor', { phase: p + 1, batch: 0 });
      continue;
    }
    const status = activePhaseOf(planPhase);
    if (d.s.status.phase !== status) {
      d.setStatus({ phase: status });
      d.log('phase', describePhase(planPhase, plan));
    }
    // A pool move's turn starts by tainting the nodes it will replace; the first batch starts meanwhile (its nodes are
    // cordoned at once), the second waits for the taint.
    const tainting = planPhase.kind === 'pool' && b === 0 ? taintKey(planPhase) : undefined;
    if (tainting !== undefined && !d.unit(tainting)) startUnit(d, tainting);
    for (const step of batch.steps) if (!d.unit(step.key)) startStep(d, step);
    if (batch.steps.some((step) => !finished(d, step.key))) return;
    if (tainting !== undefined && !finished(d, tainting)) return;
    if (batch.gate.length > 0) {
      if (!d.unit(batch.key)) startUnit(d, batch.key);
      if (!finished(d, batch.key)) return;
    }
    d.set('cursor', { phase: p, batch: b + 1 });
  }
}

function advanceRollback(d: Draft): void {
  for (;;) {
    const rollback = d.s.rollback;
    if (!rollback) return;
    if (rollback.cursor === 0 && !untainted(d)) return;
    const batch = rollback.batches[rollback.cursor];
    if (!batch) {
      d.setStatus({ phase: 'rolled-back', mode: rollback.mode, at: d.now });
      d.log(
        'rolled-back',
        rollback.mode === 'snapshot'
          ? `rolled back: snapshot ${d.s.snapshot?.id ?? '?'} restored; the control plane and the nodes run what they ran before`
          : 'rolled back: the nodes run the versions and images they had before',
      );
      return;
    }
    for (const step of batch.steps) {
      if (!d.unit(step.key)) startUnit(d, step.key, step.node);
    }
    if (batch.steps.some((step) => !finished(d, step.key))) return;
    d.set('rollback', { ...rollback, cursor: rollback.cursor + 1 });
  }
}

function startStep(d: Draft, step: PlanStep): void {
  if (step.kind !== 'worker-node') {
    // A control-plane node's start is logged like a worker's: the log alone shows that they moved one at a time.
    if (step.kind === 'control-plane-node') {
      const verb = compareVersions(parseVersion(step.to), parseVersion(step.from)) < 0 ? 'downgrading' : 'upgrading';
      d.log('started', `${verb} control-plane node ${step.ordinal}: ${step.node} ${step.from} -> ${step.to}`, {
        key: step.key,
        node: step.node,
      });
    }
    startUnit(d, step.key, step.kind === 'control-plane-node' ? step.node : undefined);
    return;
  }
  const node = currentNode(d.view(), step.node);
  if (d.s.quarantined.some((q) => q.node === node)) {
    // The slot's node was quarantined by an earlier move and nothing replaced it: leave it alone.
    d.setUnit({
      key: step.key,
      node,
      done: 0,
      stage: 'skipped',
      inFlight: null,
      failure: null,
      attempted: [],
      startedAt: d.now,
      finishedAt: d.now,
    });
    d.log('skipped', `${node} is quarantined: left out of this move`, { key: step.key, node });
    return;
  }
  d.log(
    'started',
    step.blueGreen !== undefined
      ? `${BLUE_GREEN_VERBS[step.blueGreen.stage]} ${node}${step.blueGreen.stage === 'green' ? ` at ${step.to.version}${step.to.image ? ` (${step.to.image})` : ''}` : ''}`
      : `${step.strategy === 'in-place' ? 'upgrading' : 'replacing'} ${node} to ${step.to.version}${step.to.image ? ` (${step.to.image})` : ''}`,
    {
      key: step.key,
      node,
    },
  );
  startUnit(d, step.key, node);
}

/** What a blue-green step does to its slot's blue node, for the log. */
const BLUE_GREEN_VERBS = {
  green: 'making the green node beside blue',
  cordon: 'cordoning blue',
  drain: 'draining blue',
  delete: 'deleting blue',
} as const;

/**
 * Whether kup's PreferNoSchedule taint is off every node, as a cancel or a rollback leaves the cluster: once some pool
 * move tainted nodes, the `untaint` unit takes it off (started here, the first time). False while it runs.
 */
function untainted(d: Draft): boolean {
  const tainted = d.s.plan.phases.some((p) => p.kind === 'pool' && (d.unit(taintKey(p))?.attempted.length ?? 0) > 0);
  if (!tainted) return true;
  if (!d.unit(UNTAINT_KEY)) {
    startUnit(d, UNTAINT_KEY);
    return false;
  }
  return finished(d, UNTAINT_KEY);
}

function finished(d: Draft, key: string): boolean {
  const unit = d.unit(key);
  if (!unit) return false;
  if (unit.stage === 'skipped') return true;
  if (unit.inFlight !== null || unit.failure !== null) return false;
  const spec = unitSpec(d.view(), key);
  return spec === undefined || unit.done >= unitActions(spec, unit).length;
}
