/**
 * The drain action of a run: the node's drain through the budget gate, the forecasts and the DaemonSet list its
 * batch shares on the cluster (the run's ClusterSession).
 */
import { drainNode } from '../../drain/drain.ts';
import { DrainErrorCode, type PodIssue } from '../../drain/errors.ts';
import type { ActionEffect, BlockedPod, RunEvent } from '../../rollout/machine/types.ts';
import type { EngineContext } from '../context.ts';

/** Performs a drain effect: the node's drain through the batch's shared gate; its outcome as the run's event. */
export async function drainAction(effect: Extract<ActionEffect, { type: 'drain' }>, ctx: EngineContext, signal: AbortSignal): Promise<RunEvent> {
  const { session } = ctx;
  const justCordoned = session.takeFreshCordon(effect.node);
  const result = await session.withGate(async (pdbGate) => {
    // The drain's pods count in their budgets' lines as they ask; the forecast counts the rest until it ends. One
    // still reading would land in the middle of the drain, counting pods already evicted: it is dropped.
    const forecast = session.forecastOf(effect.node);
    if (forecast && !forecast.landed) forecast.end();
    try {
      return await drainNode(ctx.conn, effect.node, {
        pdbGate,
        daemonSets: (_conn, daemonSetSignal) => session.daemonSets(daemonSetSignal),
        evictionSupport: (supportSignal) => session.evictionSupport(supportSignal),
        clock: ctx.clock,
        ignoreDaemonSets: true,
        deleteEmptyDirData: true,
        // The run cordoned the node in its step before, and uncordons it where the node stays.
        cordoned: justCordoned ? 'just-now' : true,
        timeoutMs: ctx.settings.drainTimeoutMs,
        implicitBudget: ctx.settings.implicitBudget ?? true,
        // The `force` policy deletes what is left past its PDBs (the run records it); a normal drain evicts.
        disableEviction: effect.force,
        // kubectl's --force (delete pods no controller recreates) only when the operator acknowledged that blocker.
        force: ctx.settings.acknowledgements.some((a) => a.rule === 'drain-refusals'),
        signal,
        ...(ctx.observer?.evictionRefused
          ? {
              onProgress: (event) => {
                if (event.type === 'blocked' && event.status === 429) ctx.observer?.evictionRefused?.(ctx.cluster);
              },
            }
          : {}),
      });
    } finally {
      forecast?.end();
    }
  });
  if (result.status === 'drained') return { type: 'step-succeeded', key: effect.key, action: 'drain', result: { message: `${result.evicted.length + result.deleted.length} pods moved${result.deleted.length > 0 && !effect.force ? ' (deleted: the API server serves no Eviction API)' : ''}` } };
  if (signal.aborted) throw signal.reason;
  if (result.error.code === DrainErrorCode.timedOut) {
    return { type: 'drain-timed-out', key: effect.key, pods: result.remaining.map(blockedPod), message: result.error.message };
  }
  const first = result.remaining[0];
  const hold = first?.holds?.[0];
  return {
    type: 'step-failed',
    key: effect.key,
    action: 'drain',
    error: { code: result.error.code, message: result.error.message },
    retryable: result.error.retryable,
    cause: {
      node: effect.node,
      ...(first ? { pod: `${first.pod.namespace}/${first.pod.name}` } : {}),
      ...(hold ? { pdb: `${hold.pdb.namespace}/${hold.pdb.name}` } : {}),
      pods: result.remaining.map(blockedPod),
      code: result.error.code,
    },
  };
}

function blockedPod(issue: PodIssue): BlockedPod {
  const hold = issue.holds?.[0];
  return {
    pod: `${issue.pod.namespace}/${issue.pod.name}`,
    ...(hold ? { pdb: `${hold.pdb.namespace}/${hold.pdb.name}` } : {}),
    reason: issue.reason,
  };
}
