/**
 * `failing-pods` (precheck and postcheck): pods whose containers keep failing (CrashLoopBackOff, image pull errors),
 * by workload. Before an upgrade they are a warning: kup will not blame them on it, but they are unavailable
 * capacity and their budgets may block drains. After it, a workload that was not failing before (the precheck's
 * baseline) is a blocker: the upgrade broke it. kube-system is the `system-pods` rule's.
 *
 * @module
 */
import { clusterIndex, describeRef, refKey } from '../cluster-index.ts';
import { describeFailure } from '../container-failures.ts';
import type { ClusterSnapshot } from '../snapshot-types.ts';
import type { Finding, ObjectRef, Rule } from '../types.ts';

/** `Kind/namespace/name` of workloads with failing pods in a snapshot (what a baseline records). */
export function failingWorkloadKeys(snapshot: ClusterSnapshot): string[] {
  const index = clusterIndex(snapshot);
  const keys = new Set<string>();
  for (const pod of snapshot.pods)
    if (pod.failures !== undefined && pod.deletingAt === undefined) keys.add(refKey(index.workloadOf(pod)));
  return [...keys].sort();
}

/** The rule. */
export const failingPodsRule: Rule = {
  id: 'failing-pods',
  title: 'No containers crash-looping or failing to pull their image',
  phases: ['precheck', 'postcheck'],
  check({ snapshot, phase, baseline }) {
    const index = clusterIndex(snapshot);
    const before = new Set(baseline?.failingWorkloads ?? []);
    const groups = new Map<string, { workload: ObjectRef; failures: string[]; pods: ObjectRef[] }>();
    for (const pod of snapshot.pods) {
      if (pod.failures === undefined || pod.deletingAt !== undefined || pod.namespace === 'kube-system') continue;
      const workload = index.workloadOf(pod);
      const key = refKey(workload);
      const group = groups.get(key) ?? { workload, failures: [], pods: [] };
      group.pods.push({ kind: 'Pod', namespace: pod.namespace, name: pod.name });
      for (const f of pod.failures) group.failures.push(describeFailure(`${pod.namespace}/${pod.name}`, f));
      groups.set(key, group);
    }
    const findings: Finding[] = [];
    for (const [key, { workload, failures, pods }] of groups) {
      const old = phase === 'precheck' || before.has(key);
      const shown = failures.slice(0, 3).join('; ') + (failures.length > 3 ? `; and ${failures.length - 3} more` : '');
      const first = pods[0];
      findings.push({
        rule: 'failing-pods',
        severity: old ? 'warning' : 'blocker',
        objects: [workload, ...pods],
        message: `${describeRef(workload)} is failing: ${shown}${phase === 'postcheck' && old ? '; it was failing before the upgrade' : ''}`,
        remediation:
          phase === 'precheck'
            ? `Fix it before the upgrade or accept it: kup records it and will not blame it on the upgrade (kubectl -n ${workload.namespace ?? 'default'} describe pod ${first?.name ?? ''}; kubectl logs --previous for a crash).`
            : `See why (kubectl -n ${workload.namespace ?? 'default'} describe pod ${first?.name ?? ''}; kubectl logs --previous for a crash): an image or runtime the new version breaks, a removed API, a changed default; roll the workload back or fix it, then resume.`,
      });
    }
    return findings;
  },
};
