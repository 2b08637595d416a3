/**
 * Whether a plan goes forward or back, in the words every surface uses: a downgrade is called a downgrade in the
 * plan's text, the run's log and the CLI, never an "upgrade" to an older version.
 *
 * @module
 */
import type { PlanPhase, RolloutPlan } from './plan-types.ts';
import { compareVersions, parseVersion } from '../versions/index.ts';

/** Which way a plan moves the cluster. */
export type PlanDirection = 'upgrade' | 'downgrade';

/**
 * `downgrade` when the plan takes the control plane to an older version (the path planner allows one patch back),
 * else `upgrade` (an image-only plan included). Worked out from `from` and `to`, so plans stored before this existed
 * read the same.
 */
export function planDirection(plan: Pick<RolloutPlan, 'kind' | 'from' | 'to'>): PlanDirection {
  if (plan.kind !== 'version') return 'upgrade';
  return compareVersions(parseVersion(plan.to), parseVersion(plan.from)) < 0 ? 'downgrade' : 'upgrade';
}

/** Which way one phase moves its nodes. */
export function phaseDirection(phase: PlanPhase): PlanDirection {
  if (phase.kind === 'control-plane') {
    return compareVersions(parseVersion(phase.to), parseVersion(phase.from)) < 0 ? 'downgrade' : 'upgrade';
  }
  return phase.kind === 'pool' && phase.reason === 'downgrade' ? 'downgrade' : 'upgrade';
}

/** What the plan is, for a title: `version upgrade`, `version downgrade` or `machine-image upgrade`. */
export function planTitle(plan: Pick<RolloutPlan, 'kind' | 'from' | 'to'>): string {
  return plan.kind === 'image' ? 'machine-image upgrade' : `version ${planDirection(plan)}`;
}
