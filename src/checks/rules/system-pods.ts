/**
 * `system-pods`: every kube-system pod is Running (or finished, for jobs) and Ready. The control-plane and etcd
 * static pods are left to their own rules.
 *
 * @module
 */
import type { Finding, Rule } from '../types.ts';

const OWN_RULES = new Set(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd']);

/** The rule. */
export const systemPodsRule: Rule = {
  id: 'system-pods',
  title: 'kube-system pods Running',
  phases: ['precheck', 'postcheck'],
  check({ snapshot }) {
    const findings: Finding[] = [];
    for (const pod of snapshot.pods) {
      if (pod.namespace !== 'kube-system' || pod.deletingAt !== undefined) continue;
      if (pod.mirror && OWN_RULES.has(pod.labels['component'] ?? '')) continue;
      if (pod.phase === 'Succeeded') continue;
      const objects = [{ kind: 'Pod', namespace: pod.namespace, name: pod.name }];
      const where = pod.node !== undefined ? ` on ${pod.node}` : '';
      const why = pod.waitingReason ?? pod.unschedulableMessage;
      if (pod.phase !== 'Running') {
        findings.push({
          rule: 'system-pods',
          severity: 'blocker',
          objects,
          message: `kube-system pod ${pod.name}${where} is ${pod.phase}${why ? ` (${why})` : ''}`,
          remediation: `Find out why (kubectl -n kube-system describe pod ${pod.name}) and fix it: system add-ons must be healthy before pods are moved around.`,
        });
      } else if (!pod.ready) {
        findings.push({
          rule: 'system-pods',
          severity: 'warning',
          objects,
          message: `kube-system pod ${pod.name}${where} is Running but not Ready${why ? ` (${why})` : ''}`,
          remediation: `Check its readiness probe and logs (kubectl -n kube-system logs ${pod.name}).`,
        });
      }
    }
    return findings;
  },
};
