/**
 * `drain-simulation`: replays the planned drains batch by batch (see `../drain-simulation.ts` for the model) and
 * names the workloads whose pods would find no node, and the PodDisruptionBudgets that would then hold a drain.
 * Both are blockers: Pending replicas are an outage or a capacity loss during the upgrade, and a held budget stops
 * it. One info finding summarises the batches.
 *
 * @module
 */
import { formatBatchPolicy } from '../../rollout/batches.ts';
import { clusterIndex, describeRef } from '../cluster-index.ts';
import type { PendingReason } from '../drain-simulation.ts';
import { simulateDrain } from '../drain-simulation.ts';
import { formatCpu, formatMemory } from '../quantity.ts';
import type { Finding, Rule } from '../types.ts';

const REASONS: Record<PendingReason, string> = {
  cpu: 'not enough free CPU on any node that stays schedulable',
  memory: 'not enough free memory on any node that stays schedulable',
  'cpu+memory': 'no node that stays schedulable has both the CPU and the memory free',
  pods: 'every node that stays schedulable is at its pod limit',
  'no-matching-node': 'no other schedulable node matches its node selector, affinity or tolerations',
};

/** The rule. */
export const drainSimulationRule: Rule = {
  id: 'drain-simulation',
  title: 'Drain simulation: do evicted pods fit, would a budget hold',
  phases: ['precheck'],
  check({ snapshot, plan, nodeStrategy }) {
    const index = clusterIndex(snapshot);
    const path = plan.path;
    if (path?.kind === 'nothing-to-do') return [];
    const poolSteps = path?.steps.flatMap((s) => (s.kind === 'pool' ? [s.pool] : []));
    const pools = poolSteps === undefined ? undefined : [...new Set(poolSteps)];
    const controlPlane = path === undefined || path.steps.some((s) => s.kind === 'control-plane');
    const result = simulateDrain(snapshot, index, {
      policy: plan.batchPolicy,
      ...(pools ? { pools } : {}),
      controlPlane,
      ...(nodeStrategy === 'blue-green' ? { blueGreen: true } : {}),
    });
    const policy = formatBatchPolicy(plan.batchPolicy);
    const findings: Finding[] = [];
    for (const p of result.pending) {
      const b = p.batch;
      const nodes =
        b.nodes.length <= 4 ? b.nodes.join(', ') : `${b.nodes.slice(0, 3).join(', ')} and ${b.nodes.length - 3} more`;
      findings.push({
        rule: 'drain-simulation',
        severity: 'blocker',
        objects: [p.workload],
        message:
          `batch ${b.number}/${b.of} of pool ${b.pool} (${nodes}): ${p.pending} of the ${p.evicted} evicted pod${p.evicted === 1 ? '' : 's'} of ${describeRef(p.workload)} would stay Pending ` +
          `(each requests ${formatCpu(p.requests.cpuMilli)} CPU, ${formatMemory(p.requests.memoryBytes)} memory): ${REASONS[p.reason]}` +
          (p.pendingAfterRollout > 0
            ? `; ${p.pendingAfterRollout} would still be Pending with every node back after the rollout`
            : "; they would start once the batch's nodes are back"),
        remediation:
          p.pendingAfterRollout > 0
            ? 'Add capacity (nodes, or larger ones) or lower the requests; the cluster lacks room for these pods even with every node back.'
            : b.nodes.length > 1
              ? `Use smaller batches (--batch-policy fixed:1; now ${policy}), add a surge node to the pool, or free capacity before the upgrade.`
              : 'Even one node at a time leaves no room: add a surge node to the pool (or upgrade by replacement with surge), or free capacity before the upgrade.',
      });
    }
    for (const h of result.heldBudgets) {
      findings.push({
        rule: 'drain-simulation',
        severity: 'blocker',
        objects: [{ kind: 'PodDisruptionBudget', namespace: h.pdb.namespace, name: h.pdb.name }, ...h.workloads],
        message: `batch ${h.batch.number}/${h.batch.of} of pool ${h.batch.pool}: PodDisruptionBudget ${h.pdb.namespace}/${h.pdb.name} (${h.workloads.map(describeRef).join(', ')}) allows ${h.allowed} disruption${h.allowed === 1 ? '' : 's'}, but ${h.pending} of its ${h.evicted} evicted pods would find no node: the remaining evictions wait for replacements that never start, and the drain holds`,
        remediation:
          h.batch.nodes.length > 1
            ? `Free or add capacity so the replacements can start, or use smaller batches (now ${policy}).`
            : 'Free or add capacity (a surge node) so the replacements can start: even one node at a time is too much here.',
      });
    }
    const pools2 = new Set(result.batches.map((b) => b.pool));
    findings.push({
      rule: 'drain-simulation',
      severity: 'info',
      objects: [],
      message: `simulated ${result.batches.length} drain batch${result.batches.length === 1 ? '' : 'es'} over ${pools2.size} pool${pools2.size === 1 ? '' : 's'} (policy ${policy}): ${result.evictions} evictions; ${result.pending.length === 0 && result.heldBudgets.length === 0 ? 'every evicted pod finds a node' : `${result.pending.length} workload${result.pending.length === 1 ? '' : 's'} would have Pending pods, ${result.heldBudgets.length} budget${result.heldBudgets.length === 1 ? '' : 's'} would hold a drain`}`,
      remediation: 'Nothing to do for this summary; see the blockers, if any.',
    });
    return findings;
  },
};
