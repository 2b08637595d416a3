/**
 * `stuck-terminating`: pods still present well past their deletion time (finalizers, an unreachable kubelet), and
 * namespaces stuck Terminating. A drain waits on such pods until its timeout.
 *
 * @module
 */
import type { Finding, Rule } from '../types.ts';

/** How long past its deletion timestamp (which already includes the grace period) a pod counts as stuck. */
export const STUCK_AFTER_MS = 5 * 60_000;

/** The rule. */
export const stuckTerminatingRule: Rule = {
  id: 'stuck-terminating',
  title: 'Nothing stuck Terminating',
  phases: ['precheck', 'postcheck'],
  check({ snapshot, now }) {
    const findings: Finding[] = [];
    for (const pod of snapshot.pods) {
      if (pod.deletingAt === undefined || now - pod.deletingAt < STUCK_AFTER_MS) continue;
      const minutes = Math.floor((now - pod.deletingAt) / 60_000);
      findings.push({
        rule: 'stuck-terminating',
        severity: 'warning',
        objects: [{ kind: 'Pod', namespace: pod.namespace, name: pod.name }],
        message: `pod ${pod.namespace}/${pod.name}${pod.node ? ` on ${pod.node}` : ''} has been Terminating for ${minutes} min past its grace period`,
        remediation: `Check its finalizers and its node's kubelet; if the node is gone, delete it with kubectl -n ${pod.namespace} delete pod ${pod.name} --grace-period=0 --force.`,
      });
    }
    for (const ns of snapshot.terminatingNamespaces) {
      if (ns.deletingAt !== undefined && now - ns.deletingAt < STUCK_AFTER_MS) continue;
      findings.push({
        rule: 'stuck-terminating',
        severity: 'warning',
        objects: [{ kind: 'Namespace', name: ns.name }],
        message: `namespace ${ns.name} is stuck Terminating`,
        remediation: `Find what holds it (kubectl get namespace ${ns.name} -o yaml: status.conditions name the remaining resources and finalizers).`,
      });
    }
    return findings;
  },
};
