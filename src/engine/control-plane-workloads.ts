/**
 * What runs on the control-plane nodes beyond their static (mirror) and DaemonSet pods, read when a run is planned:
 * the planner drains a control-plane node that runs any (CoreDNS, an operator that tolerates the control-plane
 * taint), as kubeadm's runbook drains every control-plane node before upgrading it; a node that runs only the control
 * plane's own static pods and node agents has nothing a drain would move.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Clock } from '../clock/clock.ts';
import { MIRROR_POD_ANNOTATION, controllerOf } from '../drain/filters.ts';
import { withRetry } from '../drain/requests.ts';
import type { ClusterConnection } from '../kube-api/connect.ts';
import { send } from '../kube-api/requests.ts';

/** Whether a drain would move the pod: not static, not a DaemonSet's, not finished. */
function isWorkload(pod: V1Pod): boolean {
  if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return false;
  if (controllerOf(pod)?.kind === 'DaemonSet') return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * How many pods beyond static and DaemonSet pods each node runs, by node name (one list per node). A transient error
 * (a 503 while an API server restarts, a dropped connection) is retried with backoff on `clock`.
 */
export async function workloadPodCounts(
  conn: ClusterConnection,
  nodes: readonly string[],
  signal: AbortSignal,
  clock: Clock,
): Promise<Map<string, number>> {
  const counts = await Promise.all(
    nodes.map(async (node) => {
      const list = await withRetry(signal, clock, () =>
        send(conn, signal, (o) => conn.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` }, o)),
      );
      return [node, list.items.filter(isWorkload).length] as const;
    }),
  );
  return new Map(counts);
}
