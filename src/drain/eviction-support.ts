/**
 * Whether the API server serves the Eviction subresource of pods, as `kubectl drain` decides it: the core group's
 * discovery (`GET /api/v1`) lists `pods/eviction` with kind `Eviction`. A server that does not (a partial API server,
 * such as the workload API servers of Cluster API's in-memory backend) gets its pods deleted instead, as kubectl
 * does: no PodDisruptionBudget can be honoured there, since only the Eviction API applies them.
 *
 * @module
 */
import type { ClusterConnection } from '../kube-api/connect.ts';

/** What discovery said about the Eviction subresource. */
export interface EvictionSupport {
  /** Whether `pods/eviction` is served. */
  readonly served: boolean;
  /** Why not, when it is not (for the drain's events and the run's record). */
  readonly reason?: string;
}

/**
 * Reads `/api/v1` once. A discovery read that fails (network, 5xx, 403) counts as served: the eviction request then
 * fails with the server's own answer, and no PodDisruptionBudget is bypassed on a guess.
 */
export async function readEvictionSupport(conn: ClusterConnection, signal?: AbortSignal): Promise<EvictionSupport> {
  let res: { status: number; body: string };
  try {
    res = await conn.getText('/api/v1', signal);
  } catch {
    signal?.throwIfAborted();
    return { served: true };
  }
  if (res.status !== 200) return { served: true };
  let resources: unknown;
  try {
    resources = (JSON.parse(res.body) as { resources?: unknown }).resources;
  } catch {
    return { served: true };
  }
  if (!Array.isArray(resources)) return { served: true };
  const served = resources.some((r: unknown) => {
    const { name, kind } = (r ?? {}) as { name?: unknown; kind?: unknown };
    return name === 'pods/eviction' && kind === 'Eviction';
  });
  return served
    ? { served: true }
    : { served: false, reason: `the API server ${conn.server} serves no pods/eviction (discovery of /api/v1)` };
}

/**
 * Whether the API server serves PodDisruptionBudgets: the `policy` group in its discovery (`GET /apis`). A server
 * without it has no budget to wait for (a partial API server). A discovery read that fails counts as served.
 */
export async function servesPodDisruptionBudgets(conn: ClusterConnection, signal?: AbortSignal): Promise<boolean> {
  let res: { status: number; body: string };
  try {
    res = await conn.getText('/apis', signal);
  } catch {
    signal?.throwIfAborted();
    return true;
  }
  if (res.status !== 200) return true;
  try {
    const groups = (JSON.parse(res.body) as { groups?: unknown }).groups;
    // Aggregated discovery (`items`) is only sent when asked for; this is the plain APIGroupList.
    if (!Array.isArray(groups)) return true;
    return groups.some((g: unknown) => (g as { name?: unknown } | null)?.name === 'policy');
  } catch {
    return true;
  }
}
