/**
 * `cordoned-nodes`: nodes already cordoned before the upgrade. The upgrade cordons and uncordons nodes itself, so a
 * node someone cordoned on purpose would come back schedulable; and its capacity is not there for drained pods.
 *
 * @module
 */
import type { Finding, Rule } from '../types.ts';

/** The rule. */
export const cordonedNodesRule: Rule = {
  id: 'cordoned-nodes',
  title: 'Nodes already cordoned',
  phases: ['precheck', 'postcheck'],
  check({ snapshot, phase }) {
    const findings: Finding[] = [];
    for (const node of snapshot.nodes) {
      if (!node.unschedulable) continue;
      findings.push({
        rule: 'cordoned-nodes',
        severity: 'warning',
        objects: [{ kind: 'Node', name: node.name }],
        message:
          phase === 'precheck'
            ? `node ${node.name} (pool ${node.pool}) is already cordoned: the drain simulation leaves its capacity out, and the upgrade would uncordon it after upgrading it`
            : `node ${node.name} (pool ${node.pool}) is still cordoned after the upgrade`,
        remediation:
          phase === 'precheck'
            ? `Uncordon it (kubectl uncordon ${node.name}) if the cordon is left over, or remove the node from the cluster if it is being retired.`
            : `Uncordon it (kubectl uncordon ${node.name}) unless it is meant to stay out of scheduling.`,
      });
    }
    return findings;
  },
};
