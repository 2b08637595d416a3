/**
 * What the maintenance domain needs to know of a cluster, read from the cluster itself: the control plane's version
 * and each pool's version and machine image (from the provider's topology), and the removed APIs still in use (the
 * same evidence as the `deprecated-apis` precheck: last-applied configurations and the API server's
 * `apiserver_requested_deprecated_apis` metric); and its health for the soak gates of fleet rollouts.
 *
 * @module
 */
import { clusterIndex, refKey } from '../checks/cluster-index.ts';
import { pluralOf } from '../checks/rules/deprecated-apis.ts';
import { failingWorkloadKeys } from '../checks/rules/failing-pods.ts';
import { gatherSnapshot } from '../checks/snapshot.ts';
import type { ClusterSnapshot } from '../checks/snapshot-types.ts';
import type { HealthObservation } from '../fleet-rollouts/index.ts';
import type { ApiInUse, PoolFacts } from '../maintenance/upgrade-info.ts';
import type { Catalog } from '../versions/index.ts';
import type { PoolTopology } from './provider.ts';
import type { OpenCluster } from './runs.ts';

/** A cluster's versions and API usage. */
export interface UpgradeFacts {
  readonly controlPlane: string;
  readonly pools: readonly PoolFacts[];
  readonly apisInUse: readonly ApiInUse[];
}

/**
 * A machine image reference as kup reads it for image auto-upgrades: `name:version` (the catalog's image name and
 * one of its versions). Anything else has no version kup can compare, and gets no image auto-upgrade.
 */
export function parseMachineImage(ref: string): { name: string; version: string } | undefined {
  const at = ref.lastIndexOf(':');
  if (at <= 0 || at === ref.length - 1) return undefined;
  return { name: ref.slice(0, at), version: ref.slice(at + 1) };
}

/**
 * A pool's version and machine image as its oldest node runs them, not as its template says: a run that ended
 * half-way through the pool left the template at the target (version or image) and some nodes behind it, and those
 * are what an automatic upgrade still has to move. A pool without nodes is its template.
 */
export function poolFactsOf(pool: PoolTopology): PoolFacts {
  const version =
    oldest(pool.nodes.map((n) => n.kubeletVersion.replace(/^v/, ''))) ?? pool.kubeletVersion.replace(/^v/, '');
  // Nodes on another image than the template's are the ones left behind; among them (or all, when none is) the oldest.
  const behind = pool.nodes.filter((n) => n.machineImage !== pool.machineImage);
  const images = (behind.length > 0 ? behind : pool.nodes).flatMap((n) => parseMachineImage(n.machineImage) ?? []);
  const oldestImage = oldest(images.map((i) => i.version));
  const image = images.find((i) => i.version === oldestImage) ?? parseMachineImage(pool.machineImage);
  return { name: pool.name, version, ...(image ? { image } : {}) };
}

/** The lowest of version-like strings, compared by their numbers (`1.33.9` before `1.33.10`). */
function oldest(versions: readonly string[]): string | undefined {
  return [...versions].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))[0];
}

/** The removed APIs a snapshot shows in use, by `apiVersion` and kind, with the objects applied with them. */
export function apisInUseOf(snapshot: ClusterSnapshot, catalog: Catalog): ApiInUse[] {
  const gv = (group: string, version: string) => (group ? `${group}/${version}` : version);
  const found = new Map<string, { apiVersion: string; kind: string; objects: string[] }>();
  const entry = (apiVersion: string, kind: string) => {
    const key = `${apiVersion}|${kind}`;
    let e = found.get(key);
    if (e === undefined) found.set(key, (e = { apiVersion, kind, objects: [] }));
    return e;
  };
  for (const api of catalog.removedApis) {
    const apiVersion = gv(api.group, api.version);
    for (const r of snapshot.lastApplied)
      if (r.apiVersion === apiVersion && r.kind === api.kind)
        entry(apiVersion, api.kind).objects.push(r.namespace ? `${r.namespace}/${r.name}` : r.name);
    // Clients' requests name the resource (plural), not the kind.
    if (
      snapshot.deprecatedApiRequests.some(
        (q) => gv(q.group, q.version) === apiVersion && q.resource === pluralOf(api.kind),
      )
    )
      entry(apiVersion, api.kind);
  }
  return [...found.values()].map((e) => ({ ...e, objects: e.objects.sort() }));
}

/** Reads a cluster's {@link UpgradeFacts}. */
export async function readUpgradeFacts(
  cluster: OpenCluster,
  catalog: Catalog,
  signal: AbortSignal,
  now: () => number,
): Promise<UpgradeFacts> {
  const topology = await cluster.provider.describeTopology(signal);
  const snapshot = await gatherSnapshot(cluster.conn, { signal, now, removedApis: catalog.removedApis });
  const versions = topology.controlPlane.map((n) =>
    (n.components['kube-apiserver'] ?? n.kubeletVersion).replace(/^v/, ''),
  );
  const controlPlane =
    versions.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))[0] ??
    (snapshot.gitVersion ?? '').replace(/^v/, '').split('+')[0] ??
    '';
  return {
    controlPlane,
    pools: topology.pools.map(poolFactsOf),
    apisInUse: apisInUseOf(snapshot, catalog),
  };
}

/**
 * A cluster's health for the soak gates of fleet rollouts, from one snapshot: workloads with failing containers
 * (crash loops, image pulls) or Pending pods, PodDisruptionBudgets below their desired healthy pods, and nodes not
 * Ready. Pods are named by workload (`Kind/namespace/name`), as the precheck's baseline names them.
 */
export function healthOf(snapshot: ClusterSnapshot): HealthObservation {
  const index = clusterIndex(snapshot);
  const pending = new Set<string>();
  for (const pod of snapshot.pods)
    if (pod.phase === 'Pending' && pod.deletingAt === undefined) pending.add(refKey(index.workloadOf(pod)));
  return {
    crashLooping: failingWorkloadKeys(snapshot),
    pending: [...pending].sort(),
    unhealthyPdbs: snapshot.pdbs
      .filter((p) => p.status.currentHealthy < p.status.desiredHealthy)
      .map((p) => `${p.namespace}/${p.name}`)
      .sort(),
    notReadyNodes: snapshot.nodes
      .filter((n) => n.ready !== 'True')
      .map((n) => n.name)
      .sort(),
  };
}

/** Reads a cluster's {@link HealthObservation}. */
export async function readClusterHealth(
  cluster: OpenCluster,
  signal: AbortSignal,
  now: () => number,
): Promise<HealthObservation> {
  return healthOf(await gatherSnapshot(cluster.conn, { signal, now }));
}
