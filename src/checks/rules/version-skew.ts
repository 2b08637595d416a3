/**
 * `version-skew`: kubelets (and kube-proxies) against the skew policy, now and along the planned path.
 *
 * - Now: a kubelet newer than the API server, or further behind than the policy allows, is a blocker (the cluster
 *   is outside what Kubernetes supports before anything moves).
 * - Along the path: a pool whose kubelets would fall outside the policy once the control plane takes its next
 *   step is a warning: the path moves that pool first (one more round of drains), and says before which hop.
 *
 * @module
 */
import type { NodeRecord } from '../snapshot-types.ts';
import type { Finding, ObjectRef, Rule } from '../types.ts';
import type { PoolVersions } from '../../versions/index.ts';
import {
  maxKubeletSkew,
  minorDistance,
  minorOf,
  parseKubeletVersion,
  skewViolations,
  tryParseVersion,
} from '../../versions/index.ts';

function readable(version: string): boolean {
  try {
    parseKubeletVersion(version);
    return true;
  } catch {
    return false;
  }
}

const nodeRef = (n: NodeRecord): ObjectRef => ({ kind: 'Node', name: n.name });

/** The rule. */
export const versionSkewRule: Rule = {
  id: 'version-skew',
  title: 'Version skew (now and along the path)',
  phases: ['precheck', 'postcheck'],
  check({ snapshot, plan }) {
    const findings: Finding[] = [];
    const apiserver = snapshot.gitVersion;
    if (apiserver === undefined || !readable(apiserver)) return findings;
    // One entry per pool and kubelet version, so that a violation names exactly the nodes at that version.
    const groups = new Map<string, { pool: string; kubelet: string; kubeProxy?: string; nodes: NodeRecord[] }>();
    for (const node of snapshot.nodes) {
      if (!readable(node.kubeletVersion)) continue;
      const kubeProxy = node.kubeProxyVersion && readable(node.kubeProxyVersion) ? node.kubeProxyVersion : undefined;
      const key = `${node.pool}|${node.kubeletVersion}|${kubeProxy ?? ''}`;
      const group = groups.get(key) ?? {
        pool: node.pool,
        kubelet: node.kubeletVersion,
        ...(kubeProxy ? { kubeProxy } : {}),
        nodes: [],
      };
      group.nodes.push(node);
      groups.set(key, group);
    }
    for (const group of groups.values()) {
      const input: PoolVersions = {
        name: group.pool,
        kubelet: group.kubelet,
        ...(group.kubeProxy ? { kubeProxy: group.kubeProxy } : {}),
      };
      const violations = skewViolations(apiserver, [input]);
      // A kube-proxy at its kubelet's version breaks the policy the same way: one finding says both.
      const same = (a: (typeof violations)[number], b: (typeof violations)[number]) =>
        a.problem === b.problem && a.version === b.version;
      for (const v of violations.filter(
        (v) => v.component !== 'kube-proxy' || !violations.some((k) => k.component === 'kubelet' && same(k, v)),
      )) {
        findings.push({
          rule: 'version-skew',
          severity: 'blocker',
          objects: group.nodes.map(nodeRef),
          message: `${v.message} (${group.nodes.length} node${group.nodes.length === 1 ? '' : 's'})`,
          remediation:
            v.problem === 'newer-than-apiserver'
              ? `Bring these nodes back to ${apiserver} or older; a node newer than the control plane is never supported.`
              : `Upgrade pool "${group.pool}" to within ${v.allowed} minors of the control plane before anything else (the planned path does it first), or acknowledge the unsupported skew.`,
        });
      }
    }
    for (const note of plan.path?.notes ?? []) {
      if (note.kind !== 'pool-moved-for-skew') continue;
      const hop = tryParseVersion(note.beforeHop);
      const nodes = snapshot.nodes.filter((n) => {
        if (n.pool !== note.pool || hop === undefined || !readable(n.kubeletVersion)) return false;
        const lag = minorDistance(minorOf(parseKubeletVersion(n.kubeletVersion).version), minorOf(hop));
        return lag > maxKubeletSkew(hop);
      });
      findings.push({
        rule: 'version-skew',
        severity: 'warning',
        objects: nodes.map(nodeRef),
        message: `${note.message}: ${nodes.length} node${nodes.length === 1 ? '' : 's'} would fall outside the skew policy after the control-plane step to ${note.beforeHop}`,
        remediation: `Expect an extra round of drains for pool "${note.pool}" before the control plane moves; to avoid it next time, keep pools within one minor of the control plane.`,
      });
    }
    return findings;
  },
};
