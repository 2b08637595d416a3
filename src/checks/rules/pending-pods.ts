/**
 * `pending-pods` (postcheck): pods that are Pending after the upgrade, by workload. A workload that already had
 * Pending pods before the upgrade (the precheck's baseline) is a warning; one that did not is a blocker: the
 * upgrade left it short.
 *
 * @module
 */
import { clusterIndex, describeRef, refKey } from '../cluster-index.ts';
import type { ClusterSnapshot } from '../snapshot-types.ts';
import type { ObjectRef, Finding, Rule } from '../types.ts';

/** `Kind/namespace/name` of workloads with Pending pods in a snapshot (what a baseline records). */
export function pendingWorkloadKeys(snapshot: ClusterSnapshot): string[] {
  const index = clusterIndex(snapshot);
  const keys = new Set<string>();
  for (const pod of snapshot.pods)
    if (pod.phase === 'Pending' && pod.deletingAt === undefined) keys.add(refKey(index.workloadOf(pod)));
  return [...keys].sort();
}

/** The rule. */
export const pendingPodsRule: Rule = {
  id: 'pending-pods',
  title: 'No pods left Pending',
  phases: ['postcheck'],
  check({ snapshot, baseline }) {
    const index = clusterIndex(snapshot);
    const before = new Set(baseline?.pendingWorkloads ?? []);
    const groups = new Map<string, { workload: ObjectRef; pods: string[]; why?: string }>();
    for (const pod of snapshot.pods) {
      if (pod.phase !== 'Pending' || pod.deletingAt !== undefined) continue;
      const workload = index.workloadOf(pod);
      const key = refKey(workload);
      const group = groups.get(key) ?? { workload, pods: [] };
      group.pods.push(pod.name);
      if (group.why === undefined && pod.unschedulableMessage) group.why = pod.unschedulableMessage;
      groups.set(key, group);
    }
    const findings: Finding[] = [];
    for (const [key, { workload, pods, why }] of groups) {
      const old = before.has(key);
      findings.push({
        rule: 'pending-pods',
        severity: old ? 'warning' : 'blocker',
        objects: [workload],
        message: `${pods.length} pod${pods.length === 1 ? '' : 's'} of ${describeRef(workload)} ${pods.length === 1 ? 'is' : 'are'} Pending${why ? ` (${why})` : ''}${old ? '; it already had Pending pods before the upgrade' : ''}`,
        remediation: `Find out why (kubectl -n ${workload.namespace ?? 'default'} describe pod ${pods[0] ?? ''}): capacity, a node selector the new nodes lack, a volume in another zone.`,
      });
    }
    return findings;
  },
};
