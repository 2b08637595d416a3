/**
 * Which pool a node belongs to. Providers label their nodes with the pool (node group, agent pool); kup reads the
 * well-known labels, and nodes without one form the pool `default`. Control-plane nodes form `control-plane`.
 *
 * @module
 */
import type { Labels } from './snapshot-types.ts';

/** Labels that name a node's pool, most specific first. */
export const POOL_LABELS: readonly string[] = Object.freeze([
  'kup.dev/pool',
  'eks.amazonaws.com/nodegroup',
  'alpha.eksctl.io/nodegroup-name',
  'cloud.google.com/gke-nodepool',
  'kubernetes.azure.com/agentpool',
  'agentpool',
  'worker.gardener.cloud/pool',
  'karpenter.sh/nodepool',
  'node.kubernetes.io/pool',
]);

/** The pool of nodes without a pool label. */
export const DEFAULT_POOL = 'default';

/** The pool of control-plane nodes. */
export const CONTROL_PLANE_POOL = 'control-plane';

/** True for a control-plane node (kubeadm's role label, or the older `master` one). */
export function isControlPlaneNode(labels: Labels): boolean {
  return (
    labels['node-role.kubernetes.io/control-plane'] !== undefined ||
    labels['node-role.kubernetes.io/master'] !== undefined
  );
}

/** The pool of a node from its labels. */
export function poolOf(labels: Labels): string {
  if (isControlPlaneNode(labels)) return CONTROL_PLANE_POOL;
  for (const key of POOL_LABELS) {
    const value = labels[key];
    if (value !== undefined && value !== '') return value;
  }
  return DEFAULT_POOL;
}
