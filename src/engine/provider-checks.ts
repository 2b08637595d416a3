/**
 * The provider's own prechecks (a management cluster's view of the machines) joined to the cluster's report: each
 * finding becomes one of rule `infrastructure`, acknowledged like any other, and its blockers stop the run as the
 * cluster's do.
 */
import { objectMatches } from '../checks/acknowledge.ts';
import type { RunChecksOptions } from '../checks/runner.ts';
import type { Acknowledgement, Finding, Report } from '../checks/types.ts';
import type { Provider } from './provider.ts';

/** `report` with the provider's findings added (blockers first, as the report keeps them). */
export async function withProviderFindings(
  report: Report,
  provider: Provider,
  signal: AbortSignal,
  acknowledgements: readonly Acknowledgement[] = [],
): Promise<Report> {
  if (provider.precheck === undefined) return report;
  const found = await provider.precheck(signal);
  if (found.length === 0) return report;
  const findings: Finding[] = found.map((f) => {
    const ack = acknowledgements.find(
      (a) =>
        a.rule === 'infrastructure' &&
        (a.object === undefined || f.objects.some((o) => objectMatches(o, a.object ?? ''))),
    );
    return {
      rule: 'infrastructure',
      severity: f.severity,
      objects: f.objects.map((o) => ({
        kind: o.kind,
        name: o.name,
        ...(o.namespace ? { namespace: o.namespace } : {}),
      })),
      message: `${provider.name}: ${f.message}`,
      remediation: f.remediation,
      ...(f.severity === 'blocker' && ack ? { acknowledged: { reason: ack.reason } } : {}),
    };
  });
  const order = { blocker: 0, warning: 1, info: 2 } as const;
  const all = [...report.findings, ...findings].sort((a, b) => order[a.severity] - order[b.severity]);
  return {
    ...report,
    findings: all,
    blockers: all.filter((f) => f.severity === 'blocker' && f.acknowledged === undefined),
    acknowledged: all.filter((f) => f.severity === 'blocker' && f.acknowledged !== undefined),
  };
}

/**
 * The provider's word on the versions the API server does not report (no `/version`, nodes with no kubelet version),
 * for the prechecks and postchecks: read only then, since a topology read of a Cluster API cluster lists its machines.
 */
export function providerVersions(provider: Provider): NonNullable<RunChecksOptions['providerVersions']> {
  return async (signal) => {
    const topology = await provider.describeTopology(signal ?? new AbortController().signal);
    const nodes: Record<string, string> = {};
    for (const n of topology.controlPlane) nodes[n.node] = n.kubeletVersion;
    for (const pool of topology.pools) for (const n of pool.nodes) nodes[n.node] = n.kubeletVersion;
    return {
      ...(topology.controlPlaneVersion ? { controlPlane: topology.controlPlaneVersion } : {}),
      nodes,
      nodesSource: topology.nodeVersionSource ?? `provider ${provider.name}`,
    };
  };
}
