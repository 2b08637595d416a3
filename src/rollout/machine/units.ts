/**
 * A unit's life inside a transition: started, then its actions issued one at a time, each as an effect.
 *
 * @module
 */
import type { Draft } from './draft.ts';
import { effectOf } from './effects.ts';
import { unitActions, unitSpec } from './state.ts';
import type { UnitSpec } from './state.ts';
import type { UnitProgress } from './types.ts';

export interface IssueOptions {
  readonly attempt?: number;
  readonly generation?: number;
  readonly autoRetries?: number;
  readonly notBefore?: number | null;
  readonly force?: boolean;
}

/** How long a unit's `soak` lasts: its batch's soak for a gate, the node soak for a worker step. */
function soakOf(spec: UnitSpec): number {
  if (spec.kind === 'gate') return spec.ref.batch.soakMs;
  if (spec.kind === 'step' && spec.ref.step.kind === 'worker-node') return spec.ref.step.soakMs ?? 0;
  return 0;
}

/** Starts a unit: records it and issues its first action. */
export function startUnit(d: Draft, key: string, node?: string): void {
  d.setUnit({
    key,
    ...(node !== undefined ? { node } : {}),
    done: 0,
    stage: 'pending',
    inFlight: null,
    failure: null,
    attempted: [],
    startedAt: d.now,
    finishedAt: null,
  });
  issue(d, key);
}

/** Issues the unit's next action (the one at `done`) and emits its effect. */
export function issue(d: Draft, key: string, options: IssueOptions = {}): void {
  const unit = d.unit(key);
  const spec = unitSpec(d.view(), key);
  if (!unit || !spec) return;
  const actions = unitActions(spec, unit);
  const action = actions[unit.done];
  if (action === undefined) return;
  const soakUntil = action === 'soak' ? d.now + soakOf(spec) : null;
  const next: UnitProgress = {
    ...unit,
    inFlight: {
      action,
      index: unit.done,
      attempt: options.attempt ?? 1,
      generation: options.generation ?? 1,
      autoRetries: options.autoRetries ?? 0,
      issuedAt: d.now,
      startedAt: null,
      notBefore: options.notBefore ?? null,
      force: options.force ?? false,
      until: soakUntil,
    },
    failure: null,
    attempted: unit.attempted.includes(action) ? unit.attempted : [...unit.attempted, action],
  };
  d.setUnit(next);
  const ponr = d.s.plan.pointOfNoReturn;
  if (action === 'upgrade-cp-node' && ponr !== null && ponr.key === key && d.s.pointOfNoReturnPassedAt === null) {
    d.set('pointOfNoReturnPassedAt', d.now);
    d.log('phase', `point of no return: ${ponr.message}`, { key, node: ponr.node, action });
  }
  d.effects.push(effectOf(d.view(), next));
}
