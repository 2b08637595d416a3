/**
 * The drain action of a run, and what the drains of a batch share on one cluster while they run: the budget gate
 * (one watch of the budgets; each disruption a budget allows goes to one pod), the budget rounds measured so far,
 * the forecasts of drains about to start, one recent list of the DaemonSets, and when this process cordoned each
 * node.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { ClusterConnection } from '../../kube-api/connect.ts';
import { getJson } from '../../kube-api/requests.ts';
import { systemClock } from '../../drain/clock.ts';
import { drainNode, listDaemonSets } from '../../drain/drain.ts';
import { DrainErrorCode, type PodIssue } from '../../drain/errors.ts';
import type { PdbGate } from '../../drain/pdb-gate.ts';
import { RoundEstimate, createPdbGate } from '../../drain/pdb-gate.ts';
import type { Clock } from '../../clock/clock.ts';
import type { ActionEffect, BlockedPod, RunEvent } from '../../rollout/machine/types.ts';
import type { EngineContext } from '../context.ts';

/**
 * When this process last cordoned each node, by cluster. A drain within FRESH_CORDON_MS of its step's cordon need not
 * cordon again; one that runs later does, as the node may have been uncordoned meanwhile: after a pause, in a kup
 * restarted since, or after a surge replacement's boot on a real cloud (minutes: the surge step cordons before it).
 */
const cordons = new WeakMap<ClusterConnection, Map<string, number>>();
const FRESH_CORDON_MS = 5_000;

function cordonedAt(conn: ClusterConnection): Map<string, number> {
  let nodes = cordons.get(conn);
  if (!nodes) cordons.set(conn, (nodes = new Map<string, number>()));
  return nodes;
}

/** The run's cordon of `node` was answered at `at`. */
export function noteCordon(conn: ClusterConnection, node: string, at: number): void {
  cordonedAt(conn).set(node, at);
}

/** The run uncordons `node`: a later drain must cordon it again. */
export function forgetCordon(conn: ClusterConnection, node: string): void {
  cordonedAt(conn).delete(node);
}

/** The budget gate of each cluster's drains running now (and forecast), and how many use it (it goes with the last). */
const sharedGates = new WeakMap<ClusterConnection, { gate: PdbGate; users: number; stop: AbortController }>();

/** Each cluster's budget rounds as its gates measured them: a batch's gate spreads its evictions with them. */
const roundEstimates = new WeakMap<ClusterConnection, RoundEstimate>();

/**
 * The budget gate shared by the drains of a batch: one watch of the budgets instead of one per node, and a
 * disruption a budget allows goes to one pod of the batch, not to one pod per drain (all but one of which the API
 * server would refuse with a 429: a third of a 1,000-node run's requests, bench/rollout.ts). `release` once done.
 */
function acquireGate(conn: ClusterConnection): { gate: PdbGate; release: () => Promise<void> } {
  let shared = sharedGates.get(conn);
  if (!shared) {
    const stop = new AbortController();
    let rounds = roundEstimates.get(conn);
    if (!rounds) roundEstimates.set(conn, (rounds = new RoundEstimate()));
    shared = { gate: createPdbGate(conn, { signal: stop.signal, clock: systemClock, rounds }), users: 0, stop };
    sharedGates.set(conn, shared);
  }
  const own = shared;
  own.users += 1;
  let released = false;
  return {
    gate: own.gate,
    async release() {
      if (released) return;
      released = true;
      own.users -= 1;
      if (own.users > 0) return;
      sharedGates.delete(conn);
      own.stop.abort(new Error('no drain uses the budget gate any more'));
      await own.gate.close();
    },
  };
}

/** A drain's pods told to the gate ahead of it (see {@link forecastDrain}). */
export interface Forecast {
  /** The pods were read and told. */
  landed: boolean;
  /** The forecast ends: its pods that did not ask no longer count. */
  end(): void;
  /**
   * The wait for the replacement is over and the drain comes next: ends it after {@link FORECAST_GRACE_MS} unless the
   * drain ends it before (a drain that does not come: a run paused in between).
   */
  expectDrain(): void;
}

/** Each cluster's forecasts, by the node to be drained. */
const forecasts = new WeakMap<ClusterConnection, Map<string, Forecast>>();

/** How long a forecast outlives the wait it was made in, for the node's cordon and the start of its drain. */
const FORECAST_GRACE_MS = 30_000;

/**
 * Tells the cluster's budget gate which pods a drain of `node` will evict before it starts (while a surge
 * replacement boots): a batch's drains start one after the other as their replacements come up, and the first ones
 * would otherwise go before the batch's longest budget line is known, all at once, and not be spread (pdb-gate.ts).
 * Best effort: a failed read forecasts nothing. The node's drain ends it.
 */
export function forecastDrain(conn: ClusterConnection, node: string): Forecast {
  let nodes = forecasts.get(conn);
  if (!nodes) forecasts.set(conn, (nodes = new Map<string, Forecast>()));
  const known = nodes.get(node);
  if (known) return known;
  const { gate, release } = acquireGate(conn);
  const stop = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const forecast: Forecast = {
    landed: false,
    end() {
      if (nodes.get(node) !== forecast) return;
      nodes.delete(node);
      clearTimeout(timer);
      stop.abort(new Error(`the forecast of ${node}'s drain ended`));
      gate.withdraw(node);
      void release();
    },
    expectDrain() {
      clearTimeout(timer);
      timer = setTimeout(() => forecast.end(), FORECAST_GRACE_MS);
      timer.unref();
    },
  };
  nodes.set(node, forecast);
  podsOn(conn, node, stop.signal)
    .then(async (pods) => {
      if (nodes.get(node) !== forecast) return;
      await gate.forecast(node, pods);
      // The drain may have started, and dropped the forecast, while the gate read the budgets.
      if (nodes.get(node) === forecast) forecast.landed = true;
      else gate.withdraw(node);
    })
    .catch(() => forecast.end());
  return forecast;
}

/** The pods bound to `node` (as JSON: the gate reads a few fields of each). */
async function podsOn(conn: ClusterConnection, node: string, signal: AbortSignal): Promise<V1Pod[]> {
  const query = new URLSearchParams({ fieldSelector: `spec.nodeName=${node}` });
  return (await getJson<{ items?: V1Pod[] }>(conn, `/api/v1/pods?${query.toString()}`, signal)).items ?? [];
}

/** Each cluster's last list of DaemonSets, and when it was asked for. */
const daemonSetLists = new WeakMap<ClusterConnection, { at: number; list: Promise<ReadonlySet<string>> }>();

/** How long the drains starting after a DaemonSet list share it: a batch's drains start within a few hundred ms. */
const DAEMONSETS_SHARED_MS = 1_000;

/**
 * The DaemonSets for a drain: one list shared by the drains of a batch, which start together, instead of one list
 * each (1,000 a run on a 1,000-node cluster, at the moments the cluster is busiest). A DaemonSet created since is
 * looked up on its own by the drain; one deleted in the last second makes its orphaned pods look owned, so the
 * drain leaves them, as it leaves every DaemonSet pod, instead of refusing them.
 */
function sharedDaemonSets(conn: ClusterConnection, signal: AbortSignal, clock: Clock): Promise<ReadonlySet<string>> {
  const last = daemonSetLists.get(conn);
  if (last && clock.now() - last.at < DAEMONSETS_SHARED_MS) return last.list;
  const list = listDaemonSets(conn, signal, clock);
  daemonSetLists.set(conn, { at: clock.now(), list });
  // A failed list (the first drain's cancellation included) is not shared: the next drain lists again.
  list.catch(() => {
    if (daemonSetLists.get(conn)?.list === list) daemonSetLists.delete(conn);
  });
  return list;
}

/** Runs `use` with the cluster's shared budget gate ({@link acquireGate}). */
async function withSharedGate<T>(conn: ClusterConnection, use: (gate: PdbGate) => Promise<T>): Promise<T> {
  const { gate, release } = acquireGate(conn);
  try {
    return await use(gate);
  } finally {
    await release();
  }
}

/** Performs a drain effect: the node's drain through the batch's shared gate; its outcome as the run's event. */
export async function drainAction(effect: Extract<ActionEffect, { type: 'drain' }>, ctx: EngineContext, signal: AbortSignal): Promise<RunEvent> {
  const at = cordonedAt(ctx.conn).get(effect.node);
  cordonedAt(ctx.conn).delete(effect.node);
  const justCordoned = at !== undefined && ctx.clock.now() - at < FRESH_CORDON_MS;
  const result = await withSharedGate(ctx.conn, async (pdbGate) => {
    // The drain's pods count in their budgets' lines as they ask; the forecast counts the rest until it ends. One
    // still reading would land in the middle of the drain, counting pods already evicted: it is dropped.
    const forecast = forecasts.get(ctx.conn)?.get(effect.node);
    if (forecast && !forecast.landed) forecast.end();
    try {
      return await drainNode(ctx.conn, effect.node, {
        pdbGate,
        daemonSets: sharedDaemonSets,
        ignoreDaemonSets: true,
        deleteEmptyDirData: true,
        // The run cordoned the node in its step before, and uncordons it where the node stays.
        cordoned: justCordoned ? 'just-now' : true,
        timeoutMs: ctx.settings.drainTimeoutMs,
        // The `force` policy deletes what is left past its PDBs (the run records it); a normal drain evicts.
        disableEviction: effect.force,
        // kubectl's --force (delete pods no controller recreates) only when the operator acknowledged that blocker.
        force: ctx.settings.acknowledgements.some((a) => a.rule === 'drain-refusals'),
        signal,
      });
    } finally {
      forecast?.end();
    }
  });
  if (result.status === 'drained') return { type: 'step-succeeded', key: effect.key, action: 'drain', result: { message: `${result.evicted.length + result.deleted.length} pods moved` } };
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
    retryable: result.error.code === DrainErrorCode.apiFailure,
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
