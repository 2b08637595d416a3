/**
 * `versions-at-target` (postcheck): the API server reports the target version, every control-plane component runs
 * it, and every node's kubelet does.
 *
 * @module
 */
import { compareVersions, parseKubeletVersion, tryParseVersion } from '../../versions/index.ts';
import type { Finding, Rule } from '../types.ts';
import { componentPods } from './control-plane.ts';

function sameVersion(reported: string, target: string): boolean {
  const t = tryParseVersion(target);
  if (t === undefined) return false;
  try {
    return compareVersions(parseKubeletVersion(reported).version, t) === 0;
  } catch {
    return false;
  }
}

/** The rule. */
export const versionsAtTargetRule: Rule = {
  id: 'versions-at-target',
  title: 'Control plane and nodes at the target version',
  phases: ['postcheck'],
  check({ snapshot, plan, quarantined = [], pending = [] }) {
    const findings: Finding[] = [];
    const held = new Set(quarantined);
    // A canary's postcheck runs mid-run: the nodes still to move are not behind, only not there yet.
    const toMove = new Set(pending);
    const target = plan.to;
    if (snapshot.gitVersion !== undefined && !sameVersion(snapshot.gitVersion, target)) {
      findings.push({
        rule: 'versions-at-target',
        severity: 'blocker',
        objects: [],
        message: `the API server reports ${snapshot.gitVersion}, not the target ${target}`,
        remediation: 'The control-plane upgrade did not finish: resume the run, or check the control-plane nodes.',
      });
    }
    for (const c of componentPods(snapshot.pods)) {
      if (
        c.component === 'etcd' ||
        c.version === undefined ||
        c.pod.deletingAt !== undefined ||
        sameVersion(c.version, target)
      )
        continue;
      findings.push({
        rule: 'versions-at-target',
        severity: 'blocker',
        objects: [{ kind: 'Pod', namespace: c.pod.namespace, name: c.pod.name }],
        message: `${c.component} on ${c.pod.node ?? '?'} runs ${c.version}, not the target ${target}`,
        remediation: `Finish the control-plane upgrade of ${c.pod.node ?? 'that node'}.`,
      });
    }
    const behind = new Map<string, string[]>();
    for (const node of snapshot.nodes) {
      if (sameVersion(node.kubeletVersion, target) || toMove.has(node.name)) continue;
      if (held.has(node.name)) {
        findings.push({
          rule: 'versions-at-target',
          severity: 'warning',
          objects: [{ kind: 'Node', name: node.name }],
          message: `node ${node.name} of pool ${node.pool} was quarantined by the run (its drain timed out) and still runs kubelet ${node.kubeletVersion || 'unknown'}, not the target ${target}`,
          remediation: `Find what kept its pods (the run's events name them), drain it (kubectl drain ${node.name}), then replace or remove it.`,
        });
        continue;
      }
      const key = `${node.pool}|${node.kubeletVersion}`;
      behind.set(key, [...(behind.get(key) ?? []), node.name]);
    }
    for (const [key, nodes] of behind) {
      const [pool, version] = key.split('|');
      findings.push({
        rule: 'versions-at-target',
        severity: 'blocker',
        objects: nodes.map((name) => ({ kind: 'Node', name })),
        message: `${nodes.length} node${nodes.length === 1 ? '' : 's'} of pool ${pool} run${nodes.length === 1 ? 's' : ''} kubelet ${version || 'unknown'}, not the target ${target}`,
        remediation: `Finish the upgrade of pool ${pool} (resume the run).`,
      });
    }
    return findings;
  },
};
