/**
 * A pool move's worker-node steps cut into batches: the plan builds them, and the run state machine again when it
 * re-plans the batches left after a pause.
 *
 * @module
 */
import { parseBatchPolicy, poolBatchSizes } from './batches.ts';
import { stepActions, sumActions } from './plan-steps.ts';
import type { ActionType, NodeTarget, PlanBatch, PoolPhase, StepEstimates, WorkerNodeStep } from './plan-types.ts';

/**
 * Builds the steps of a pool move for the given node slots (in order), numbering batches from `firstIndex`.
 * The plan's `buildPlan` uses it, and the run state machine's re-plan on resume. With a canary, the move's first
 * batch (index 1) is its first node alone, gated by the batch validation and then the post-upgrade validation; the
 * other nodes are cut by the policy after it (a re-plan from a later batch has no canary: it already ran).
 */
export function poolBatches(
  phase: Pick<
    PoolPhase,
    | 'key'
    | 'pool'
    | 'strategy'
    | 'maxSurge'
    | 'maxUnavailable'
    | 'poolSize'
    | 'batchPolicy'
    | 'soakMs'
    | 'nodeSoakMs'
    | 'canary'
  >,
  nodes: readonly { readonly node: string; readonly from: NodeTarget; readonly to: NodeTarget }[],
  firstIndex: number,
  estimates: StepEstimates,
): PlanBatch[] {
  const policy = parseBatchPolicy(phase.batchPolicy);
  const canary = phase.canary === true && firstIndex === 1 && nodes.length > 0;
  const sizes = canary
    ? [1, ...poolBatchSizes(nodes.length - 1, phase.poolSize, policy, phase)]
    : poolBatchSizes(nodes.length, phase.poolSize, policy, phase);
  const batches: PlanBatch[] = [];
  const nodeSoak = phase.nodeSoakMs ?? 0;
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
        ...(nodeSoak > 0 ? { soakMs: nodeSoak } : {}),
        estimateMs: 0,
      };
      return { ...draft, estimateMs: sumActions(stepActions(draft), estimates) + nodeSoak };
    });
    at += size;
    const last = at >= nodes.length;
    const soak = last ? 0 : phase.soakMs;
    const gate: ActionType[] = ['validate-batch'];
    if (canary && i === 0) gate.push('postcheck');
    if (soak > 0) gate.push('soak');
    const longest = Math.max(0, ...steps.map((s) => s.estimateMs));
    batches.push({
      key,
      index,
      steps,
      gate,
      soakMs: soak,
      estimateMs: longest + sumActions(gate.filter((a) => a !== 'soak'), estimates) + soak,
    });
  });
  return batches;
}
