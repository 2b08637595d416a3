/**
 * The re-plan on resume: ACK starts the first batch after a pause with one node, so an `exponential` pool move's
 * batches that have not started are cut again.
 *
 * @module
 */
import { parseBatchPolicy, poolBatchSizes } from '../batches.ts';
import type { PoolPhase, RolloutPlan } from '../plan-types.ts';
import { poolBatches } from '../pool-batches.ts';
import type { Draft } from './draft.ts';

/**
 * ACK: "If you pause the upgrade, the first batch after the pause includes one node." Re-plans the current pool
 * move's batches that have not started, when the policy is exponential and the sizes would change.
 */
export function replanAfterPause(d: Draft): void {
  const plan = d.s.plan;
  const { phase: p, batch: b } = d.s.cursor;
  const phase = plan.phases[p];
  // A blue-green move's batches are its stages, not a cut of its nodes: nothing to re-plan.
  if (phase?.kind !== 'pool' || phase.strategy === 'blue-green' || parseBatchPolicy(phase.batchPolicy).kind !== 'exponential') return;
  const current = phase.batches[b];
  const from = current && current.steps.some((s) => d.unit(s.key) !== undefined) ? b + 1 : b;
  const rest = phase.batches.slice(from);
  const steps = rest.flatMap((batch) => batch.steps).filter((s) => s.kind === 'worker-node');
  if (steps.length === 0 || steps.some((s) => d.unit(s.key) !== undefined)) return;
  const sizes = poolBatchSizes(steps.length, phase.poolSize, parseBatchPolicy(phase.batchPolicy), phase);
  const old = rest.map((batch) => batch.steps.length);
  if (sizes.length === old.length && sizes.every((n, i) => n === old[i])) return;
  const batches = [
    ...phase.batches.slice(0, from),
    ...poolBatches(
      phase,
      steps.map((s) => ({ node: s.node, from: s.from, to: s.to })),
      from + 1,
      plan.estimates,
    ),
  ];
  const next: PoolPhase = { ...phase, batches, estimateMs: batches.reduce((s, x) => s + x.estimateMs, 0) };
  const phases = plan.phases.map((x, i) => (i === p ? next : x));
  const replanned: RolloutPlan = {
    ...plan,
    revision: plan.revision + 1,
    phases,
    expectedDurationMs: phases.reduce((s, x) => s + x.estimateMs, 0),
  };
  d.set('plan', replanned);
  d.log(
    'replanned',
    `pool ${phase.pool}: the ${steps.length} remaining node(s) re-planned in batches of ${sizes.join(', ')} (the first batch after a pause is one node)`,
  );
}
