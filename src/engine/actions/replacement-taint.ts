/**
 * kup's PreferNoSchedule taint on the nodes a pool move will replace (kOps taints the nodes of a rolling update the
 * same way): put on at the start of the pool's turn, so the scheduler places new pods elsewhere while it can; taken
 * off a node that stays (an in-place upgrade's uncordon), and off every node on cancel and rollback.
 *
 * A node's taints are one list: each change is a GET and a JSON merge patch of the whole list with the node's
 * resourceVersion as precondition (as `kubectl taint` updates the node), retried on a conflict with a heartbeat or
 * another writer.
 *
 * @module
 */
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import type { Clock } from '../../clock/clock.ts';
import type { ClusterConnection } from '../../kube-api/connect.ts';
import { statusOf } from '../../kube-api/errors.ts';
import { getJson, send } from '../../kube-api/requests.ts';

/** The taint: `kup.dev/to-be-replaced=true:PreferNoSchedule`. */
export const REPLACEMENT_TAINT = Object.freeze({
  key: 'kup.dev/to-be-replaced',
  value: 'true',
  effect: 'PreferNoSchedule',
} as const);

/** Whether a taint is kup's replacement taint. */
export function isReplacementTaint(taint: V1Taint): boolean {
  return taint.key === REPLACEMENT_TAINT.key && taint.effect === REPLACEMENT_TAINT.effect;
}

/** Conflicts a node's taint change retries before it gives up (kubelet heartbeats update the node's status). */
const MAX_CONFLICTS = 5;

/** How many nodes are changed at once. */
const CONCURRENCY = 32;

/** Puts the taint on each node (a node already tainted, or gone, is left as it is). Returns how many changed. */
export async function taintNodes(
  conn: ClusterConnection,
  nodes: readonly string[],
  signal: AbortSignal,
  clock: Clock,
): Promise<number> {
  return countChanged(
    await inParallel(nodes, (node) =>
      changeTaints(
        conn,
        node,
        (taints) => (taints.some(isReplacementTaint) ? undefined : [...taints, { ...REPLACEMENT_TAINT }]),
        signal,
        clock,
      ),
    ),
  );
}

/** Takes the taint off every node that has it. Returns how many changed. */
export async function untaintAll(conn: ClusterConnection, signal: AbortSignal, clock: Clock): Promise<number> {
  const list = await getJson<{ items: V1Node[] }>(conn, '/api/v1/nodes', signal);
  const tainted = list.items
    .filter((n) => (n.spec?.taints ?? []).some(isReplacementTaint))
    .map((n) => n.metadata?.name ?? '')
    .filter((n) => n !== '');
  return countChanged(await inParallel(tainted, (node) => removeReplacementTaint(conn, node, signal, clock)));
}

/** Takes the taint off one node, if it has it (a node gone is left alone). Returns whether it changed. */
export function removeReplacementTaint(
  conn: ClusterConnection,
  node: string,
  signal: AbortSignal,
  clock: Clock,
): Promise<boolean> {
  return changeTaints(
    conn,
    node,
    (taints) => (taints.some(isReplacementTaint) ? taints.filter((t) => !isReplacementTaint(t)) : undefined),
    signal,
    clock,
  );
}

/** Reads the node's taints and writes what `next` makes of them (undefined: nothing to do). */
async function changeTaints(
  conn: ClusterConnection,
  node: string,
  next: (taints: readonly V1Taint[]) => V1Taint[] | undefined,
  signal: AbortSignal,
  clock: Clock,
): Promise<boolean> {
  for (let conflicts = 0; ; conflicts++) {
    signal.throwIfAborted();
    let current: V1Node;
    try {
      current = await getJson<V1Node>(conn, `/api/v1/nodes/${encodeURIComponent(node)}`, signal);
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
    const taints = next(current.spec?.taints ?? []);
    if (taints === undefined) return false;
    try {
      await send(
        conn,
        signal,
        (o) =>
          conn.core.patchNode(
            {
              name: node,
              body: {
                metadata: { resourceVersion: current.metadata?.resourceVersion },
                spec: { taints: taints.length > 0 ? taints : null },
              },
            },
            o,
          ),
        { 'Content-Type': 'application/merge-patch+json' },
      );
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return false;
      if (status !== 409 || conflicts >= MAX_CONFLICTS) throw err;
      // Someone wrote the node between the read and the write: read it again (a short pause spreads the retries).
      await clock.sleep(10 * (conflicts + 1), signal);
    }
  }
}

async function inParallel<T>(items: readonly string[], work: (item: string) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) out.push(await work(item));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return out;
}

function countChanged(results: readonly boolean[]): number {
  return results.filter(Boolean).length;
}
