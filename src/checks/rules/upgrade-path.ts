/**
 * `upgrade-path`: the path from the cluster's version to the target can be planned (no unknown control-plane
 * version, no kubelet newer than the control plane), and what the planner says about the target and the hops
 * (deprecated target, hops past their end of support).
 *
 * @module
 */
import type { Finding, Rule } from '../types.ts';

/** The rule. */
export const upgradePathRule: Rule = {
  id: 'upgrade-path',
  title: 'Upgrade path',
  phases: ['precheck'],
  check({ plan }) {
    const findings: Finding[] = [];
    if (plan.pathError !== undefined) {
      findings.push({
        rule: 'upgrade-path',
        severity: 'blocker',
        objects: [],
        message: `no upgrade path from ${plan.from || 'the current version'} to ${plan.to}: ${plan.pathError}`,
        remediation:
          'Fix what the planner names (a node newer than the control plane, a version missing from the catalog: kup catalog update) and run the precheck again.',
      });
      return findings;
    }
    const path = plan.path;
    if (path === undefined) return findings;
    if (path.kind === 'nothing-to-do') {
      findings.push({
        rule: 'upgrade-path',
        severity: 'info',
        objects: [],
        message: `the cluster already runs ${path.to} everywhere: nothing to upgrade`,
        remediation: 'Nothing to do.',
      });
    }
    for (const note of path.notes) {
      if (note.kind === 'target-classification') {
        findings.push({
          rule: 'upgrade-path',
          severity: note.classification === 'deprecated' ? 'info' : 'warning',
          objects: [],
          message: note.message,
          remediation:
            note.classification === 'deprecated'
              ? 'Plan the next upgrade soon after this one.'
              : note.towardSupport === true
                ? 'Go on to a supported minor after this upgrade: the cluster stays without security fixes until then.'
                : 'Prefer a supported target unless this one is needed.',
        });
      } else if (note.kind === 'expired-hop') {
        findings.push({
          rule: 'upgrade-path',
          severity: 'info',
          objects: [],
          message: note.message,
          remediation: 'Nothing to do: the control plane only passes through it; do not stop the upgrade there.',
        });
      }
    }
    return findings;
  },
};
