/**
 * The small value types every part of the drain shares: references to pods and budgets and the dry-run strategy
 * (the clock the drain sleeps and measures with is kup's one Clock, `src/clock/clock.ts`).
 */
import type { V1Pod } from '@kubernetes/client-node';

/** A pod by namespace, name and UID (the UID tells a pod from its replacement of the same name). */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/** A PodDisruptionBudget by namespace and name. */
export interface PdbRef {
  namespace: string;
  name: string;
}

/**
 * kubectl's `--dry-run`: `none` changes the cluster; `client` prints what would happen and sends no write;
 * `server` sends every write with `dryRun=All`, so the API server checks it (admission, PDBs) without persisting it.
 */
export type DryRun = 'none' | 'client' | 'server';

/** `namespace/name`. */
export function formatPod(pod: Pick<PodRef, 'namespace' | 'name'>): string {
  return `${pod.namespace}/${pod.name}`;
}

/** `namespace/name`. */
export function formatPdb(pdb: PdbRef): string {
  return `${pdb.namespace}/${pdb.name}`;
}

/** The reference of a listed pod (the API server always fills these three). */
export function podRef(pod: V1Pod): PodRef {
  return { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
}

/**
 * kup's own budget for a pod that no PodDisruptionBudget selects and whose controller wants more than one replica:
 * at most one of the controller's pods unavailable at a time, as a PDB with `maxUnavailable: 1` would (pdb-gate.ts).
 * The API server knows nothing of it: only kup's drain holds evictions back for it.
 */
export interface ImplicitBudget {
  /** The pod's controller, whose status counts its Ready pods. */
  readonly controller: {
    readonly kind: 'ReplicaSet' | 'StatefulSet';
    readonly namespace: string;
    readonly name: string;
  };
  /** The workload as people know it: a ReplicaSet's Deployment, else the controller itself. */
  readonly workload: {
    readonly kind: 'Deployment' | 'ReplicaSet' | 'StatefulSet';
    readonly namespace: string;
    readonly name: string;
  };
  /** The controller's desired replicas (more than one). */
  readonly replicas: number;
}

/** `no PDB: kup keeps all but one of kube-system/coredns's 2 replicas Ready`. */
export function describeImplicitBudget(budget: ImplicitBudget): string {
  const { workload, replicas } = budget;
  return `no PDB: kup keeps all but one of ${workload.namespace}/${workload.name}'s ${replicas} replicas Ready`;
}
