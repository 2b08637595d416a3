/**
 * `implicit-budget`: Deployments, StatefulSets and ReplicaSets of their own with more than one replica and no
 * PodDisruptionBudget. Nothing in the API server keeps a batch's drains from evicting all their pods at once (two
 * CoreDNS pods on the two nodes of one batch: no DNS until a replacement is Ready), so kup's drains keep all but one
 * of their replicas Ready, as a budget with `maxUnavailable: 1` would (src/drain/pdb-gate.ts): the finding names the
 * workloads this covers. With the implicit budget off (`--implicit-budget off`), the same workloads are a warning.
 *
 * @module
 */
import { labelSelectorObjectMatches } from '../../k8s/label-selector.ts';
import type { WorkloadRecord } from '../snapshot-types.ts';
import type { Finding, Rule } from '../types.ts';

/** The rule. */
export const implicitBudgetRule: Rule = {
  id: 'implicit-budget',
  title: 'Workloads with several replicas and no PodDisruptionBudget',
  phases: ['precheck'],
  check({ snapshot, implicitBudget }) {
    const covered = snapshot.workloads.filter(
      (w): w is WorkloadRecord & { replicas: number } =>
        (w.kind === 'Deployment' || w.kind === 'StatefulSet' || (w.kind === 'ReplicaSet' && w.owner === undefined)) &&
        (w.replicas ?? 0) > 1 &&
        !snapshot.pdbs.some(
          (pdb) => pdb.namespace === w.namespace && labelSelectorObjectMatches(pdb.selector, w.templateLabels),
        ),
    );
    if (covered.length === 0) return [];
    const names = covered.map((w) => `${w.kind} ${w.namespace}/${w.name} (${w.replicas} replicas)`).join(', ');
    const n = covered.length;
    const these = n === 1 ? 'it' : 'each';
    const finding: Finding =
      implicitBudget === false
        ? {
            rule: 'implicit-budget',
            severity: 'warning',
            objects: covered.map((w) => ({ kind: w.kind, namespace: w.namespace, name: w.name })),
            message: `${n} workload${n === 1 ? '' : 's'} with several replicas and no PodDisruptionBudget, and the implicit budget is off: the drains of a batch may evict all the pods of ${these} at once, leaving none Ready until a replacement is: ${names}`,
            remediation: `Give ${these} a PodDisruptionBudget (maxUnavailable: 1), or leave the implicit budget on (drop --implicit-budget off).`,
          }
        : {
            rule: 'implicit-budget',
            severity: 'info',
            objects: covered.map((w) => ({ kind: w.kind, namespace: w.namespace, name: w.name })),
            message: `${n} workload${n === 1 ? '' : 's'} with several replicas and no PodDisruptionBudget: kup keeps all but one of ${n === 1 ? 'its' : 'their'} replicas Ready during drains, as a budget with maxUnavailable: 1 would: ${names}`,
            remediation: `Nothing to do for the upgrade. A PodDisruptionBudget of ${n === 1 ? 'its' : 'their'} own sets the limit instead (and holds for every client, not only kup).`,
          };
    return [finding];
  },
};
