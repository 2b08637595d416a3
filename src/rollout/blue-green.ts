/**
 * A blue-green pool move cut into batches (GKE's and AKS's blue-green node pool upgrade). Pure, like the other
 * batches: the plan builds them once and the run state machine steps them as any other batch (see
 * docs/adr/017-blue-green-pool-moves.md).
 *
 * The batches of one move, in order:
 * 1. `green`: a step per slot makes the slot's green node (`replace-node`, the old node left untouched) and waits for
 *    it Ready; its gate validates the green nodes. The whole green set exists before anything happens to blue.
 * 2. `cordon-blue`: a step per slot cordons its blue node; no pod lands on blue from here on.
 * 3. `drain-N`: the blue nodes drained in batches (`drainBatchSize`, else the batch policy's sizes), each batch
 *    validated (on the green nodes its pods went to) and soaked (`soakMs`) before the next.
 * 4. `final-soak`: no step, a gate that soaks `finalSoakMs`. Until it ends, a rollback only uncordons blue and drains
 *    green back: the blue nodes still exist, at the version they had.
 * 5. `delete-blue`: a step per slot deletes its blue node; the slot's node is its green node from then on.
 *
 * @module
 */
import { batchSizes, parseBatchPolicy } from './batches.ts';
import type { ActionType, NodeTarget, PlanBatch, PoolPhase, StepEstimates, WorkerNodeStep } from './plan-types.ts';

/** A blue-green step's actions, by stage. */
export const BLUE_GREEN_ACTIONS: Readonly<
  Record<NonNullable<WorkerNodeStep['blueGreen']>['stage'], readonly ActionType[]>
> = Object.freeze({
  green: Object.freeze(['replace-node', 'wait-node-ready'] as const),
  cordon: Object.freeze(['cordon'] as const),
  drain: Object.freeze(['drain'] as const),
  delete: Object.freeze(['delete-old-node'] as const),
});

/** The batches of a blue-green pool move for the given node slots (in order). */
export function blueGreenBatches(
  phase: Pick<PoolPhase, 'key' | 'pool' | 'poolSize' | 'batchPolicy' | 'soakMs' | 'drainBatchSize' | 'finalSoakMs'>,
  nodes: readonly { readonly node: string; readonly from: NodeTarget; readonly to: NodeTarget }[],
  estimates: StepEstimates,
): PlanBatch[] {
  const greenKey = (slot: string): string => `${phase.key}/green/${slot}`;
  const steps = (
    batchKey: string,
    slots: typeof nodes,
    stage: NonNullable<WorkerNodeStep['blueGreen']>['stage'],
  ): WorkerNodeStep[] =>
    slots.map((n) => ({
      kind: 'worker-node',
      key: `${batchKey}/${n.node}`,
      node: n.node,
      pool: phase.pool,
      from: n.from,
      to: n.to,
      strategy: 'blue-green',
      surge: stage === 'green',
      blueGreen: { stage, green: greenKey(n.node) },
      estimateMs: BLUE_GREEN_ACTIONS[stage].reduce((sum, a) => sum + estimates[a], 0),
    }));
  const batch = (
    key: string,
    list: WorkerNodeStep[],
    gate: readonly ActionType[],
    soakMs: number,
  ): Omit<PlanBatch, 'index'> => ({
    key,
    steps: list,
    gate,
    soakMs,
    estimateMs:
      Math.max(0, ...list.map((s) => s.estimateMs)) +
      (gate.includes('validate-batch') ? estimates['validate-batch'] : 0) +
      soakMs,
  });

  const out: Omit<PlanBatch, 'index'>[] = [];
  out.push(batch(`${phase.key}/green`, steps(`${phase.key}/green`, nodes, 'green'), ['validate-batch'], 0));
  out.push(batch(`${phase.key}/cordon-blue`, steps(`${phase.key}/cordon-blue`, nodes, 'cordon'), [], 0));
  const sizes =
    phase.drainBatchSize !== undefined
      ? Array.from({ length: Math.ceil(nodes.length / phase.drainBatchSize) }, (_, i) =>
          Math.min(phase.drainBatchSize ?? 1, nodes.length - i * (phase.drainBatchSize ?? 1)),
        )
      : batchSizes(nodes.length, parseBatchPolicy(phase.batchPolicy), phase.poolSize);
  let at = 0;
  sizes.forEach((size, i) => {
    const key = `${phase.key}/drain-${i + 1}`;
    at += size;
    const soak = at >= nodes.length ? 0 : phase.soakMs;
    out.push(
      batch(
        key,
        steps(key, nodes.slice(at - size, at), 'drain'),
        soak > 0 ? ['validate-batch', 'soak'] : ['validate-batch'],
        soak,
      ),
    );
  });
  const finalSoak = phase.finalSoakMs ?? 0;
  if (finalSoak > 0) out.push(batch(`${phase.key}/final-soak`, [], ['soak'], finalSoak));
  out.push(batch(`${phase.key}/delete-blue`, steps(`${phase.key}/delete-blue`, nodes, 'delete'), [], 0));
  return out.map((b, i) => ({ ...b, index: i + 1 }));
}

/** Whether a batch of a blue-green move is its final soak (a rollback then keeps to uncordon and drain back). */
export function isFinalSoak(batch: PlanBatch): boolean {
  return batch.steps.length === 0 && batch.key.endsWith('/final-soak');
}
