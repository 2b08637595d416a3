/**
 * `etcd`: the API server's `etcd` readiness check passes, and where etcd runs as static pods (kubeadm), every member
 * is Running and Ready and their number keeps a quorum through the loss of one member.
 *
 * @module
 */
import type { Finding, Rule } from '../types.ts';
import { componentPods } from './control-plane.ts';

/** The rule. */
export const etcdRule: Rule = {
  id: 'etcd',
  title: 'etcd healthy',
  phases: ['precheck', 'postcheck'],
  check({ snapshot }) {
    const findings: Finding[] = [];
    if (snapshot.readyz.ok) {
      const line = snapshot.readyz.body.split('\n').find((l) => /^\[[+-]\]etcd( |$)/.test(l));
      if (line?.startsWith('[-]')) {
        findings.push({
          rule: 'etcd',
          severity: 'blocker',
          objects: [],
          message: `the API server reports etcd unhealthy: ${line.slice(3).trim()}`,
          remediation:
            'Check etcd (etcdctl endpoint health --cluster) and its disks before anything else; do not upgrade with an unhealthy etcd.',
        });
      }
    }
    const members = componentPods(snapshot.pods).filter(
      (c) => c.component === 'etcd' && c.pod.deletingAt === undefined,
    );
    for (const { pod } of members) {
      if (pod.phase === 'Running' && pod.ready) continue;
      findings.push({
        rule: 'etcd',
        severity: 'blocker',
        objects: [{ kind: 'Pod', namespace: pod.namespace, name: pod.name }],
        message: `etcd member pod ${pod.name} is ${pod.phase}${pod.ready ? '' : ', not Ready'}${pod.waitingReason ? ` (${pod.waitingReason})` : ''}`,
        remediation: `Check the member (kubectl -n kube-system logs ${pod.name}; etcdctl endpoint health) and restore it before upgrading.`,
      });
    }
    if (members.length > 0 && members.length % 2 === 0) {
      findings.push({
        rule: 'etcd',
        severity: 'warning',
        objects: members.map(({ pod }) => ({ kind: 'Pod', namespace: pod.namespace, name: pod.name })),
        message: `etcd has ${members.length} members: an even count tolerates no more failures than ${members.length - 1} members would`,
        remediation:
          'Run an odd number of etcd members (3 or 5) so that a member restarting during the upgrade keeps quorum.',
      });
    }
    if (members.length === 1) {
      findings.push({
        rule: 'etcd',
        severity: 'info',
        objects: [
          { kind: 'Pod', namespace: members[0]?.pod.namespace ?? 'kube-system', name: members[0]?.pod.name ?? '' },
        ],
        message:
          'etcd has a single member: the API server is unavailable while it restarts during the control-plane upgrade',
        remediation:
          'Take an etcd snapshot before the upgrade (kup does before the control plane moves) and expect a short API outage.',
      });
    }
    return findings;
  },
};
