/**
 * Lookups over a snapshot that several rules share: the workload a pod belongs to (a ReplicaSet's pods belong to
 * its Deployment), the PodDisruptionBudgets that select a pod, the pods of each budget and each node. Built once per
 * snapshot and cached.
 *
 * @module
 */
import { labelSelectorObjectMatches } from '../k8s/label-selector.ts';
import type { ClusterSnapshot, Labels, NodeRecord, PdbRecord, PodRecord, WorkloadRecord } from './snapshot-types.ts';
import type { ObjectRef } from './types.ts';

/** Shared lookups over one snapshot. */
export interface ClusterIndex {
  /** The top-level controller of a pod (Deployment, StatefulSet, DaemonSet, Job, ...), or the pod itself. */
  workloadOf(pod: PodRecord): ObjectRef;
  /** The budgets that select a pod. */
  pdbsOf(pod: PodRecord): readonly PdbRecord[];
  /** The pods a budget selects. */
  podsOf(pdb: PdbRecord): readonly PodRecord[];
  /** Pods bound to a node. */
  podsOnNode(node: string): readonly PodRecord[];
  /** A node by name. */
  node(name: string): NodeRecord | undefined;
  /** A workload record by `Kind/namespace/name`. */
  workload(key: string): WorkloadRecord | undefined;
}

/** `Kind/namespace/name` (or `Kind/name`). */
export function refKey(ref: ObjectRef): string {
  return ref.namespace === undefined ? `${ref.kind}/${ref.name}` : `${ref.kind}/${ref.namespace}/${ref.name}`;
}

/** `namespace/name` (or `name`), for messages. */
export function refName(ref: ObjectRef): string {
  return ref.namespace === undefined ? ref.name : `${ref.namespace}/${ref.name}`;
}

/** `Deployment shop/web`, for messages. */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${refName(ref)}`;
}

/** True for pods that hold resources on their node (not finished). */
export function isActive(pod: PodRecord): boolean {
  return pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

const cache = new WeakMap<ClusterSnapshot, ClusterIndex>();

/** The index of a snapshot (built on first use). */
export function clusterIndex(snapshot: ClusterSnapshot): ClusterIndex {
  let index = cache.get(snapshot);
  if (index === undefined) {
    index = buildIndex(snapshot);
    cache.set(snapshot, index);
  }
  return index;
}

function buildIndex(snapshot: ClusterSnapshot): ClusterIndex {
  const workloads = new Map<string, WorkloadRecord>();
  for (const w of snapshot.workloads) workloads.set(`${w.kind}/${w.namespace}/${w.name}`, w);
  const nodes = new Map<string, NodeRecord>();
  for (const n of snapshot.nodes) nodes.set(n.name, n);

  const pdbsByNamespace = new Map<string, PdbRecord[]>();
  for (const pdb of snapshot.pdbs) {
    const list = pdbsByNamespace.get(pdb.namespace) ?? [];
    list.push(pdb);
    pdbsByNamespace.set(pdb.namespace, list);
  }
  // Pods of one template share one labels object, so matching is done once per (namespace, labels).
  const matchCache = new Map<string, Map<Labels, readonly PdbRecord[]>>();
  const pdbsOf = (pod: PodRecord): readonly PdbRecord[] => {
    const candidates = pdbsByNamespace.get(pod.namespace);
    if (candidates === undefined) return [];
    let perNamespace = matchCache.get(pod.namespace);
    if (perNamespace === undefined) {
      perNamespace = new Map();
      matchCache.set(pod.namespace, perNamespace);
    }
    let found = perNamespace.get(pod.labels);
    if (found === undefined) {
      found = candidates.filter((pdb) => labelSelectorObjectMatches(pdb.selector, pod.labels));
      perNamespace.set(pod.labels, found);
    }
    return found;
  };

  const byNode = new Map<string, PodRecord[]>();
  const byPdb = new Map<PdbRecord, PodRecord[]>();
  for (const pod of snapshot.pods) {
    if (pod.node !== undefined) {
      const list = byNode.get(pod.node);
      if (list) list.push(pod);
      else byNode.set(pod.node, [pod]);
    }
    for (const pdb of pdbsOf(pod)) {
      const list = byPdb.get(pdb);
      if (list) list.push(pod);
      else byPdb.set(pdb, [pod]);
    }
  }

  const workloadOf = (pod: PodRecord): ObjectRef => {
    const owner = pod.owner;
    if (owner === undefined) return { kind: 'Pod', namespace: pod.namespace, name: pod.name };
    if (owner.kind === 'ReplicaSet') {
      const rs = workloads.get(`ReplicaSet/${pod.namespace}/${owner.name}`);
      if (rs?.owner !== undefined) return { kind: rs.owner.kind, namespace: pod.namespace, name: rs.owner.name };
    }
    return { kind: owner.kind, namespace: pod.namespace, name: owner.name };
  };

  return {
    workloadOf,
    pdbsOf,
    podsOf: (pdb) => byPdb.get(pdb) ?? [],
    podsOnNode: (node) => byNode.get(node) ?? [],
    node: (name) => nodes.get(name),
    workload: (key) => workloads.get(key),
  };
}
