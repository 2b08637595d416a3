/**
 * `nodes-ready`: every node is Ready (a NotReady node cannot be drained cleanly, and its pods already lack a home),
 * and none reports memory, disk or PID pressure or an unavailable network.
 *
 * @module
 */
import type { Finding, Rule } from '../types.ts';

function age(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return `${Math.max(0, Math.floor(ms / 1000))}s`;
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h` : `${Math.floor(hours / 24)}d`;
}

/** The rule. */
export const nodesReadyRule: Rule = {
  id: 'nodes-ready',
  title: 'All nodes Ready',
  phases: ['precheck', 'postcheck'],
  check({ snapshot, now }) {
    const findings: Finding[] = [];
    for (const node of snapshot.nodes) {
      if (node.ready !== 'True') {
        const since = node.readySince !== undefined ? ` for ${age(now - node.readySince)}` : '';
        findings.push({
          rule: 'nodes-ready',
          severity: 'blocker',
          objects: [{ kind: 'Node', name: node.name }],
          message: `node ${node.name} (pool ${node.pool}) is ${node.ready === 'False' ? 'NotReady' : 'not reporting (Ready Unknown)'}${since}${node.readyReason ? `: ${node.readyReason}` : ''}`,
          remediation: `Bring ${node.name} back (kubelet, container runtime, network) or remove it from the cluster (kubectl delete node ${node.name} after draining) before upgrading.`,
        });
      }
      if (node.pressure.length > 0) {
        findings.push({
          rule: 'nodes-ready',
          severity: 'warning',
          objects: [{ kind: 'Node', name: node.name }],
          message: `node ${node.name} reports ${node.pressure.join(', ')}`,
          remediation: `Relieve the pressure on ${node.name} (free disk, memory or PIDs) before the upgrade moves pods onto it.`,
        });
      }
    }
    return findings;
  },
};
