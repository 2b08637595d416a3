/**
 * API discovery: the legacy documents (APIVersions, APIGroupList, APIGroup, APIResourceList) and aggregated
 * discovery (APIGroupDiscoveryList v2 / v2beta1), built from the resources the simulated version serves.
 */
import type { ResourceDef } from './resources.ts';
import { RESOURCE_VERBS, groupVersion } from './resources.ts';

const SUBRESOURCE_KINDS: Record<string, { group: string; version: string; kind: string; verbs: string[] }> = {
  status: { group: '', version: '', kind: '', verbs: ['get', 'patch', 'update'] },
  scale: { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
  eviction: { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
  binding: { group: '', version: 'v1', kind: 'Binding', verbs: ['create'] },
};

/** Versions of a group, newest (preferred) first. */
function versionsOf(resources: readonly ResourceDef[], group: string): string[] {
  const versions = [...new Set(resources.filter((r) => r.group === group).map((r) => r.version))];
  return versions.sort((a, b) => versionPriority(b) - versionPriority(a));
}

/** Kubernetes version ordering: GA > beta > alpha, then by number. */
function versionPriority(v: string): number {
  const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
  if (!m) return 0;
  const major = Number(m[1]);
  const stage = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
  return stage * 10_000 + major * 100 + Number(m[3] ?? 0);
}

function groups(resources: readonly ResourceDef[]): string[] {
  return [...new Set(resources.map((r) => r.group).filter((g) => g !== ''))];
}

/** GET /api */
export function apiVersions(serverAddress: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(resources: readonly ResourceDef[], group: string): Record<string, unknown> {
  const versions = versionsOf(resources, group).map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** GET /apis */
export function apiGroupList(resources: readonly ResourceDef[]): unknown {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups(resources).map((g) => apiGroup(resources, g)) };
}

/** GET /apis/<group>, or undefined when the group is not served. */
export function apiGroupDocument(resources: readonly ResourceDef[], group: string): unknown {
  if (!resources.some((r) => r.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(resources, group) };
}

/** GET /api/v1 or /apis/<group>/<version>, or undefined when not served. */
export function apiResourceList(resources: readonly ResourceDef[], group: string, version: string): unknown {
  const served = resources.filter((r) => r.group === group && r.version === version);
  if (served.length === 0) return undefined;
  const list: Record<string, unknown>[] = [];
  for (const r of served) {
    list.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs ?? RESOURCE_VERBS,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
    });
    for (const sub of r.subresources) {
      const s = SUBRESOURCE_KINDS[sub];
      if (!s) continue;
      list.push({
        name: `${r.plural}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(s.kind ? { group: s.group, version: s.version, kind: s.kind } : { kind: r.kind }),
        verbs: s.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources: list };
}

/** Aggregated discovery for /api (core only) or /apis (every named group). */
export function aggregatedDiscovery(resources: readonly ResourceDef[], scope: 'api' | 'apis', version: 'v2' | 'v2beta1'): unknown {
  const groupNames = scope === 'api' ? [''] : groups(resources);
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groupNames.map((group) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: versionsOf(resources, group).map((v) => ({
        version: v,
        freshness: 'Current',
        resources: resources
          .filter((r) => r.group === group && r.version === v)
          .map((r) => ({
            resource: r.plural,
            responseKind: { group, version: v, kind: r.kind },
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.singular,
            verbs: r.verbs ?? RESOURCE_VERBS,
            ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
            ...(r.categories.length ? { categories: r.categories } : {}),
            ...(r.subresources.length
              ? {
                  subresources: r.subresources.map((sub) => {
                    const s = SUBRESOURCE_KINDS[sub] ?? { group: '', version: '', kind: '', verbs: [] };
                    return {
                      subresource: sub,
                      responseKind: s.kind ? { group: s.group, version: s.version, kind: s.kind } : { group, version: v, kind: r.kind },
                      verbs: s.verbs,
                    };
                  }),
                }
              : {}),
          })),
      })),
    })),
  };
}
