/**
 * `pdb-blockers`: PodDisruptionBudgets that will stop a drain.
 *
 * - A budget that allows no disruption while all its pods are healthy (maxUnavailable 0, minAvailable 100 % or
 *   equal to the pod count, or its status says 0 with every pod healthy): every eviction of its pods gets 429 until
 *   the drain times out. Blocker.
 * - A budget at 0 because some of its pods are not healthy now: the drain waits until they are. Warning.
 * - Pods selected by several budgets: the eviction API refuses them outright (HTTP 500). Blocker.
 *
 * @module
 */
import type { ClusterIndex } from '../cluster-index.ts';
import { clusterIndex, describeRef, isActive, refKey } from '../cluster-index.ts';
import type { PdbRecord, PodRecord } from '../snapshot-types.ts';
import type { Finding, ObjectRef, Rule } from '../types.ts';

const isZero = (v: number | string | undefined): boolean => v === 0 || v === '0' || v === '0%';

function workloadsOf(index: ClusterIndex, pods: readonly PodRecord[]): ObjectRef[] {
  const seen = new Map<string, ObjectRef>();
  for (const pod of pods) {
    const w = index.workloadOf(pod);
    seen.set(refKey(w), w);
  }
  return [...seen.values()];
}

/** Why a budget blocks every eviction with all its pods healthy, or `undefined` when it does not. */
export function staticBlockReason(pdb: PdbRecord, podCount: number): string | undefined {
  if (isZero(pdb.maxUnavailable)) return 'maxUnavailable is 0';
  if (pdb.minAvailable === '100%') return 'minAvailable is 100%';
  if (
    typeof pdb.minAvailable === 'number' &&
    pdb.minAvailable >= Math.max(podCount, pdb.status.expectedPods) &&
    pdb.minAvailable > 0
  ) {
    return `minAvailable is ${pdb.minAvailable} with ${Math.max(podCount, pdb.status.expectedPods)} pod${podCount === 1 ? '' : 's'}`;
  }
  const s = pdb.status;
  if (s.disruptionsAllowed === 0 && s.expectedPods > 0 && s.currentHealthy >= s.expectedPods) {
    return `it allows 0 disruptions with all ${s.currentHealthy} pods healthy (needs ${s.desiredHealthy})`;
  }
  return undefined;
}

/** The rule. */
export const pdbBlockersRule: Rule = {
  id: 'pdb-blockers',
  title: 'PodDisruptionBudgets that block drains',
  phases: ['precheck'],
  check({ snapshot }) {
    const index = clusterIndex(snapshot);
    const findings: Finding[] = [];
    for (const pdb of snapshot.pdbs) {
      const pods = index.podsOf(pdb).filter((p) => isActive(p) && p.deletingAt === undefined);
      if (pods.length === 0) continue;
      const pdbRef: ObjectRef = { kind: 'PodDisruptionBudget', namespace: pdb.namespace, name: pdb.name };
      const workloads = workloadsOf(index, pods);
      const whose = workloads.map(describeRef).join(', ');
      const reason = staticBlockReason(pdb, pods.length);
      if (reason !== undefined) {
        findings.push({
          rule: 'pdb-blockers',
          severity: 'blocker',
          objects: [pdbRef, ...workloads],
          message: `PodDisruptionBudget ${pdb.namespace}/${pdb.name} blocks every eviction of its ${pods.length} pod${pods.length === 1 ? '' : 's'} (${whose}): ${reason}; a drain of their nodes waits until it times out`,
          remediation: `Allow at least one disruption (maxUnavailable: 1, or minAvailable below the replica count, and add replicas if needed), or delete the budget for the upgrade window (kubectl -n ${pdb.namespace} delete pdb ${pdb.name}; re-create it after).`,
        });
      } else if (pdb.status.disruptionsAllowed === 0) {
        findings.push({
          rule: 'pdb-blockers',
          severity: 'warning',
          objects: [pdbRef, ...workloads],
          message: `PodDisruptionBudget ${pdb.namespace}/${pdb.name} allows 0 disruptions now: ${pdb.status.currentHealthy} of ${pdb.status.expectedPods} pods are healthy and it needs ${pdb.status.desiredHealthy} (${whose})`,
          remediation:
            'Bring the unhealthy pods back (kubectl describe them) before the upgrade; a drain waits on this budget until they are healthy.',
        });
      }
    }
    // Several budgets on one pod: the eviction API answers 500 for it; grouped by the set of budgets.
    const groups = new Map<string, { pdbs: readonly PdbRecord[]; pods: PodRecord[] }>();
    for (const pod of snapshot.pods) {
      if (!isActive(pod) || pod.deletingAt !== undefined) continue;
      const pdbs = index.pdbsOf(pod);
      if (pdbs.length < 2) continue;
      const key = pdbs.map((p) => `${p.namespace}/${p.name}`).join(',');
      const group = groups.get(key) ?? { pdbs, pods: [] };
      group.pods.push(pod);
      groups.set(key, group);
    }
    for (const { pdbs, pods } of groups.values()) {
      const workloads = workloadsOf(index, pods);
      const names = pdbs.map((p) => `${p.namespace}/${p.name}`);
      findings.push({
        rule: 'pdb-blockers',
        severity: 'blocker',
        objects: [
          ...pdbs.map((p): ObjectRef => ({ kind: 'PodDisruptionBudget', namespace: p.namespace, name: p.name })),
          ...workloads,
        ],
        message: `${pods.length} pod${pods.length === 1 ? '' : 's'} of ${workloads.map(describeRef).join(', ')} ${pods.length === 1 ? 'is' : 'are'} selected by ${pdbs.length} PodDisruptionBudgets (${names.join(', ')}): the eviction API refuses such pods (HTTP 500), so no drain can move them`,
        remediation: 'Make the budgets select disjoint pods (tighten their selectors) or delete all but one.',
      });
    }
    return findings;
  },
};
