/**
 * `pdb-health` (postcheck): every PodDisruptionBudget has the healthy pods it asks for again: the workloads the
 * drains moved are back to strength.
 *
 * @module
 */
import type { Finding, Rule } from '../types.ts';

/** The rule. */
export const pdbHealthRule: Rule = {
  id: 'pdb-health',
  title: 'PodDisruptionBudgets healthy',
  phases: ['postcheck'],
  check({ snapshot }) {
    const findings: Finding[] = [];
    for (const pdb of snapshot.pdbs) {
      const s = pdb.status;
      if (s.expectedPods === 0 || s.currentHealthy >= s.desiredHealthy) continue;
      findings.push({
        rule: 'pdb-health',
        severity: 'blocker',
        objects: [{ kind: 'PodDisruptionBudget', namespace: pdb.namespace, name: pdb.name }],
        message: `PodDisruptionBudget ${pdb.namespace}/${pdb.name} has ${s.currentHealthy} healthy pods and needs ${s.desiredHealthy} (of ${s.expectedPods} expected)`,
        remediation:
          'Find the pods it selects that are not Ready (kubectl get pods -l <its selector>) and why; the workload is below the strength its budget asks for.',
      });
    }
    return findings;
  },
};
