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
