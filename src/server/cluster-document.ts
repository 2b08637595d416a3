/** A registered cluster as the API shows it (never its credentials), whole or as a line of the fleet's list. */
import { upgradeSummary } from '../clusters/upgrade-summary.ts';
import type { ClusterRow } from '../persistence/clusters-repo.ts';
import type { ClusterStatus } from './cluster-status.ts';

/**
 * The kubeconfig path recorded for a cluster whose kubeconfig was uploaded: the document itself is sealed in the
 * store's credentials, and a kup without the service's key (the CLI on the same data directory) is told so.
 */
export const UPLOADED_KUBECONFIG_PREFIX = 'uploaded:';

/** The run a cluster's document names as its active one. */
export interface ActiveRunRef {
  readonly id: string;
  readonly phase: string;
}

/** A cluster in the fleet list: its document without the lists of versions it can move to. */
export function clusterSummary(row: ClusterRow, status: ClusterStatus, active: ActiveRunRef | undefined) {
  const doc = clusterDocument(row, status, active);
  if (doc.upgrades === null) return { ...doc, upgrades: null };
  const { known, summary, newestPatch, newestNextMinor } = doc.upgrades;
  return { ...doc, upgrades: { known, summary, newestPatch, newestNextMinor } };
}

/** A cluster as the API shows it: never its credentials. */
export function clusterDocument(row: ClusterRow, status: ClusterStatus, active: ActiveRunRef | undefined) {
  const s = status.inspection;
  const base = {
    name: row.name,
    provider: row.provider,
    providerSettings: (typeof row.providerSettings === 'object' && row.providerSettings !== null
      ? row.providerSettings
      : {}) as Record<string, unknown>,
    kubeconfig: row.kubeconfigPath.startsWith(UPLOADED_KUBECONFIG_PREFIX) ? ('uploaded' as const) : ('file' as const),
    context: row.context ?? null,
    addedAt: new Date(row.addedAt).toISOString(),
    pools: status.pools ? [...status.pools] : null,
    activeRun: active ?? null,
  };
  const health = {
    reachable: s.reachable,
    error: s.reachable ? null : s.error,
    inspectedAt: new Date(status.inspectedAt).toISOString(),
  };
  if (!s.reachable)
    return {
      ...base,
      server: s.server ?? null,
      health,
      version: null,
      nodes: null,
      kubeletVersions: {},
      upgrades: null,
    };
  const u = s.upgrades;
  return {
    ...base,
    server: s.server,
    health,
    version: s.version,
    nodes: s.nodes,
    kubeletVersions: { ...s.kubeletVersions },
    upgrades: {
      known: u.known,
      summary: upgradeSummary(u),
      newestPatch: u.patches[u.patches.length - 1]?.version ?? null,
      newestNextMinor: u.nextMinor[u.nextMinor.length - 1]?.version ?? null,
      patches: u.patches.map((p) => ({ ...p })),
      nextMinor: u.nextMinor.map((p) => ({ ...p })),
    },
  };
}
