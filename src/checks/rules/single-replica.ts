/**
 * `single-replica`: Deployments and StatefulSets with one replica and no PodDisruptionBudget. Nothing stops their
 * only pod from being evicted, so they are down from the eviction until the replacement is Ready, once per drain
 * of their node.
 *
 * @module
 */
import { labelSelectorObjectMatches } from '../../k8s/label-selector.ts';
import type { Finding, Rule } from '../types.ts';

/** The rule. */
export const singleReplicaRule: Rule = {
  id: 'single-replica',
  title: 'Single-replica workloads without a PodDisruptionBudget',
  phases: ['precheck'],
  check({ snapshot }) {
    const findings: Finding[] = [];
    for (const w of snapshot.workloads) {
      if ((w.kind !== 'Deployment' && w.kind !== 'StatefulSet') || w.replicas !== 1) continue;
      const covered = snapshot.pdbs.some(
        (pdb) => pdb.namespace === w.namespace && labelSelectorObjectMatches(pdb.selector, w.templateLabels),
      );
      if (covered) continue;
      findings.push({
        rule: 'single-replica',
        severity: 'warning',
        objects: [{ kind: w.kind, namespace: w.namespace, name: w.name }],
        message: `${w.kind} ${w.namespace}/${w.name} has 1 replica and no PodDisruptionBudget: it is down while its node drains, until its replacement pod is Ready`,
        remediation: `Run 2 or more replicas with a PodDisruptionBudget (maxUnavailable: 1), or accept the short outage${w.kind === 'StatefulSet' ? ' (a StatefulSet pod keeps its name, so the outage lasts until the old pod is gone and the new one Ready)' : ''}.`,
      });
    }
    return findings;
  },
};
