/**
 * Cordon and uncordon exactly as kubectl does: GET the node, and only when `spec.unschedulable` differs, a
 * strategic-merge PATCH `{"spec":{"unschedulable":true}}` (uncordon sends `null`, which deletes the field). kubectl adds
 * no taint; the node lifecycle controller keeps `node.kubernetes.io/unschedulable` in line.
 */
import { PatchStrategy } from '@kubernetes/client-node';
import type { V1Node } from '@kubernetes/client-node';
import type { ClusterConnection } from '../kube-api/connect.ts';
import { statusOf } from '../kube-api/errors.ts';
import { DrainError, DrainErrorCode } from './errors.ts';
import { systemClock } from './clock.ts';
import { sendWithRetry } from './requests.ts';
import type { Clock } from '../clock/clock.ts';
import type { DryRun } from './types.ts';

/** Options of cordonNode and uncordonNode. */
export interface CordonOptions {
  /** `client` sends no PATCH; `server` sends it with dryRun=All. @default 'none' */
  dryRun?: DryRun;
  signal?: AbortSignal;
  /** The clock retries of transient errors sleep on. @default the system clock */
  clock?: Clock;
}

/** What a cordon or uncordon did. */
export interface CordonResult {
  node: string;
  /** False when the node already was as asked (kubectl's "already cordoned"). */
  changed: boolean;
  /** `spec.unschedulable` before. */
  wasUnschedulable: boolean;
  /** The node as the API server returned it (before the change under client dry-run). */
  object: V1Node;
}

/** Marks a node unschedulable. A missing node is a KUP-DRAIN-001 DrainError. */
export function cordonNode(conn: ClusterConnection, name: string, options: CordonOptions = {}): Promise<CordonResult> {
  return setUnschedulable(conn, name, true, options);
}

/**
 * Marks a node unschedulable with one request: the strategic-merge PATCH alone, without kubectl's GET first, for a
 * caller that does not need to know whether it already was (the rollout engine, which cordons every node it moves
 * and records that itself). Sending it again changes nothing. A missing node is a KUP-DRAIN-001 DrainError.
 */
export async function markUnschedulable(
  conn: ClusterConnection,
  name: string,
  options: Pick<CordonOptions, 'signal' | 'clock'> = {},
): Promise<V1Node> {
  options.signal?.throwIfAborted();
  try {
    return await sendWithRetry(
      conn,
      options.signal,
      options.clock ?? systemClock,
      (o) => conn.core.patchNode({ name, body: { spec: { unschedulable: true } } }, o),
      { 'Content-Type': PatchStrategy.StrategicMergePatch },
    );
  } catch (err) {
    if (statusOf(err) === 404) {
      throw new DrainError(DrainErrorCode.nodeNotFound, `node "${name}" not found`, name, false, [], { cause: err });
    }
    throw err;
  }
}

/** Marks a node schedulable again. A missing node is a KUP-DRAIN-001 DrainError. */
export function uncordonNode(
  conn: ClusterConnection,
  name: string,
  options: CordonOptions = {},
): Promise<CordonResult> {
  return setUnschedulable(conn, name, false, options);
}

async function setUnschedulable(
  conn: ClusterConnection,
  name: string,
  desired: boolean,
  options: CordonOptions,
): Promise<CordonResult> {
  const { signal } = options;
  const dryRun = options.dryRun ?? 'none';
  const clock = options.clock ?? systemClock;
  signal?.throwIfAborted();
  let node: V1Node;
  try {
    node = await sendWithRetry(conn, signal, clock, (o) => conn.core.readNode({ name }, o));
  } catch (err) {
    if (statusOf(err) === 404) {
      throw new DrainError(DrainErrorCode.nodeNotFound, `node "${name}" not found`, name, false, [], { cause: err });
    }
    throw err;
  }
  const was = node.spec?.unschedulable === true;
  if (was === desired) return { node: name, changed: false, wasUnschedulable: was, object: node };
  if (dryRun === 'client') return { node: name, changed: true, wasUnschedulable: was, object: node };
  const patched = await sendWithRetry(
    conn,
    signal,
    clock,
    (o) =>
      conn.core.patchNode(
        {
          name,
          body: { spec: { unschedulable: desired ? true : null } },
          ...(dryRun === 'server' ? { dryRun: 'All' } : {}),
        },
        o,
      ),
    { 'Content-Type': PatchStrategy.StrategicMergePatch },
  );
  return { node: name, changed: true, wasUnschedulable: was, object: patched };
}
