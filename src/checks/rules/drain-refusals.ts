/**
 * `drain-refusals`: pods `kubectl drain` refuses without a flag, and what the flag costs.
 *
 * - Pods with no controller: refused without `--force`; with it they are deleted and nothing recreates them.
 *   Blocker: the pod is lost for good.
 * - Pods with an emptyDir volume: refused without `--delete-emptydir-data`; with it the volume's data is lost (the
 *   controller recreates the pod elsewhere, empty). Warning, one per workload.
 *
 * DaemonSet pods (`--ignore-daemonsets`) and static pods stay on their node and are not reported.
 *
 * @module
 */
import { clusterIndex, describeRef, isActive, refKey } from '../cluster-index.ts';
import type { Finding, ObjectRef, Rule } from '../types.ts';

/** The rule. */
export const drainRefusalsRule: Rule = {
  id: 'drain-refusals',
  title: 'Pods drain would refuse (no controller, emptyDir)',
  phases: ['precheck'],
  check({ snapshot, undrainedNodes }) {
    const index = clusterIndex(snapshot);
    const undrained = new Set(undrainedNodes ?? []);
    const findings: Finding[] = [];
    const emptyDir = new Map<string, { workload: ObjectRef; pods: string[]; nodes: Set<string> }>();
    for (const pod of snapshot.pods) {
      if (pod.node === undefined || !isActive(pod) || pod.deletingAt !== undefined || pod.mirror) continue;
      if (undrained.has(pod.node)) continue;
      if (pod.owner?.kind === 'DaemonSet' || pod.owner?.kind === 'Node') continue;
      if (pod.owner === undefined) {
        findings.push({
          rule: 'drain-refusals',
          severity: 'blocker',
          objects: [{ kind: 'Pod', namespace: pod.namespace, name: pod.name }],
          message: `pod ${pod.namespace}/${pod.name} on ${pod.node} has no controller: kubectl drain refuses it without --force${pod.emptyDir ? ' (and --delete-emptydir-data for its emptyDir)' : ''}, and once deleted nothing recreates it`,
          remediation: `Run it under a controller (a Deployment, StatefulSet or Job), or delete it yourself before the upgrade (kubectl -n ${pod.namespace} delete pod ${pod.name}); acknowledge this blocker to let the drain delete it (--force).`,
        });
        continue;
      }
      if (!pod.emptyDir) continue;
      const workload = index.workloadOf(pod);
      const key = refKey(workload);
      const group = emptyDir.get(key) ?? { workload, pods: [], nodes: new Set<string>() };
      group.pods.push(pod.name);
      group.nodes.add(pod.node);
      emptyDir.set(key, group);
    }
    for (const { workload, pods, nodes } of emptyDir.values()) {
      findings.push({
        rule: 'drain-refusals',
        severity: 'warning',
        objects: [workload],
        message: `${pods.length} pod${pods.length === 1 ? '' : 's'} of ${describeRef(workload)} on ${nodes.size} node${nodes.size === 1 ? '' : 's'} use${pods.length === 1 ? 's' : ''} emptyDir: kubectl drain refuses them without --delete-emptydir-data, and with it their emptyDir data is lost`,
        remediation:
          'Make sure the emptyDir holds only scratch or cache data (the replacement pod starts empty); keep anything that matters on a PersistentVolume.',
      });
    }
    return findings;
  },
};
