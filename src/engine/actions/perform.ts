/**
 * Performs one effect of the run state machine against the cluster and the provider, and says what happened as
 * the event the machine takes next. Expected failures are events (step-failed with a cause, drain-timed-out), not
 * exceptions; only cancellation (the signal) rejects.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { runChecks } from '../../checks/runner.ts';
import { ClusterErrorCode, statusOf } from '../../cluster/errors.ts';
import { send } from '../../cluster/requests.ts';
import { markUnschedulable, uncordonNode } from '../../drain/cordon.ts';
import type { ClusterConnection } from '../../cluster/connect.ts';
import { systemClock } from '../../drain/clock.ts';
import type { DrainClock } from '../../drain/types.ts';
import { drainNode, listDaemonSets } from '../../drain/drain.ts';
import { DrainErrorCode, type PodIssue } from '../../drain/errors.ts';
import type { PdbGate } from '../../drain/pdb-gate.ts';
import { RoundEstimate, createPdbGate } from '../../drain/pdb-gate.ts';
import type { NodeTarget } from '../../rollout/plan.ts';
import type { ActionEffect, BlockedPod, RunEvent } from '../../rollout/machine/types.ts';
import type { EngineContext } from '../context.ts';
import { ProviderError } from '../provider.ts';
import { waitForNodeReady } from './node-wait.ts';
import { validateBatch } from './validate.ts';

/** Performs `effect`; resolves to the event that reports it. Rejects only when `signal` aborts. */
export async function performEffect(effect: ActionEffect, ctx: EngineContext, signal: AbortSignal): Promise<RunEvent> {
  const ok = (result?: { newNode?: string; snapshot?: string; message?: string }): RunEvent => ({
    type: 'step-succeeded',
    key: effect.key,
    action: effect.type,
    ...(result ? { result } : {}),
  });
  try {
    if (effect.notBefore !== null && effect.notBefore > ctx.clock.now()) await ctx.clock.sleep(effect.notBefore - ctx.clock.now(), signal);
    switch (effect.type) {
      case 'precheck': {
        const report = await runChecks(ctx.conn, {
          target: effect.target,
          phase: 'precheck',
          catalog: ctx.catalog,
          acknowledgements: ctx.settings.acknowledgements,
          ...ctx.settings.precheck,
          signal,
        });
        const blockers = report.findings.filter((f) => f.severity === 'blocker' && !f.acknowledged);
        if (blockers.length > 0) {
          return {
            type: 'precheck-failed',
            blockers: blockers.map((b) => ({ rule: b.rule, message: b.message, objects: b.objects.map((o) => (o.namespace ? `${o.kind} ${o.namespace}/${o.name}` : `${o.kind} ${o.name}`)) })),
          };
        }
        const acknowledged = report.findings.flatMap((f) =>
          f.severity === 'blocker' && f.acknowledged ? [{ rule: f.rule, ...(f.objects[0] ? { object: f.objects[0].name } : {}), reason: f.acknowledged.reason }] : [],
        );
        return { type: 'precheck-passed', acknowledged };
      }
      case 'take-snapshot': {
        const snap = await ctx.provider.takeSnapshot(effect.idempotencyKey, signal);
        return ok({ snapshot: snap.id, message: `snapshot ${snap.id} (${snap.sizeBytes} bytes)` });
      }
      case 'upgrade-cp-node':
        await ctx.provider.upgradeControlPlaneNode(effect.node, effect.version, effect.idempotencyKey, signal);
        return ok({ message: `${effect.node} runs ${effect.version}` });
      case 'check-api-health': {
        const deadline = ctx.clock.now() + 60_000;
        for (;;) {
          const res = await ctx.conn.getText('/readyz', signal).catch((err: unknown) => ({ status: 0, body: String(err) }));
          if (res.status === 200) return ok();
          if (ctx.clock.now() > deadline) throw new Error(`KUP-ENGINE-004: /readyz answered ${res.status} for 60s after ${effect.node}: ${res.body.slice(0, 200)}`);
          await ctx.clock.sleep(500, signal);
        }
      }
      case 'cordon':
        await markUnschedulable(ctx.conn, effect.node, { signal });
        cordonedAt(ctx.conn).set(effect.node, ctx.clock.now());
        return ok();
      case 'uncordon':
        cordonedAt(ctx.conn).delete(effect.node);
        await uncordonNode(ctx.conn, effect.node, { signal });
        return ok();
      case 'drain':
        return await drain(effect, ctx, signal);
      case 'replace-node': {
        const target = workerTarget(effect.target);
        const { newNode } = await ctx.provider.replaceWorkerNode(effect.node, target, effect.idempotencyKey, signal);
        return ok({ newNode, message: `${newNode} replaces ${effect.node}` });
      }
      case 'upgrade-node-in-place': {
        const target = workerTarget(effect.target);
        await ctx.provider.upgradeWorkerNodeInPlace(effect.node, target, effect.idempotencyKey, signal);
        return ok();
      }
      case 'wait-node-ready': {
        // While the replacement boots, the budget gate learns what the old node's drain will evict.
        const forecast = effect.thenDrains !== undefined ? forecastDrain(ctx.conn, effect.thenDrains) : undefined;
        try {
          await waitForNodeReady(
            ctx.conn,
            effect.node,
            effect.target ? workerTarget(effect.target) : {},
            ctx.settings.nodeReadyTimeoutMs,
            ctx.clock,
            signal,
          );
        } catch (err) {
          forecast?.end();
          throw err;
        }
        forecast?.endIn(FORECAST_GRACE_MS);
        return ok();
      }
      case 'delete-old-node':
        await ctx.provider.deleteWorkerNode(effect.node, effect.idempotencyKey, signal);
        return ok();
      case 'label-node':
        await send(ctx.conn, signal, (o) => ctx.conn.core.patchNode({ name: effect.node, body: { metadata: { labels: effect.labels } } }, o), {
          'Content-Type': 'application/merge-patch+json',
        });
        return ok();
      case 'validate-batch':
        await validateBatch(ctx.conn, effect.nodes, ctx.settings.validateTimeoutMs, ctx.clock, signal);
        return ok();
      case 'soak':
        if (effect.until > ctx.clock.now()) await ctx.clock.sleep(effect.until - ctx.clock.now(), signal);
        return { type: 'soak-elapsed', key: effect.key };
      case 'postcheck': {
        // Right after the last node (or a snapshot restore) pods are still starting: a blocker must persist through
        // a settle window before it fails the run. Polls the whole check because its rules span every resource.
        const deadline = ctx.clock.now() + Math.min(ctx.settings.validateTimeoutMs, POSTCHECK_SETTLE_MS);
        for (;;) {
          const report = await runChecks(ctx.conn, {
            target: effect.target,
            phase: 'postcheck',
            catalog: ctx.catalog,
            signal,
            ...(effect.quarantined ? { quarantined: effect.quarantined } : {}),
          });
          const blockers = report.findings.filter((f) => f.severity === 'blocker');
          if (blockers.length === 0) return ok();
          if (ctx.clock.now() >= deadline) {
            throw new Error(`KUP-ENGINE-005: post-upgrade validation failed: ${blockers.map((b) => `${b.rule}: ${b.message}`).join('; ')}`);
          }
          await ctx.clock.sleep(2_000, signal);
        }
      }
      case 'rollback-node': {
        const target = workerTarget(effect.target);
        if (effect.strategy === 'replace') {
          const { newNode } = await ctx.provider.replaceWorkerNode(effect.node, target, effect.idempotencyKey, signal);
          return ok({ newNode, message: `${newNode} replaces ${effect.node} at ${effect.target.version}` });
        }
        await ctx.provider.upgradeWorkerNodeInPlace(effect.node, target, effect.idempotencyKey, signal);
        return ok();
      }
      case 'restore-snapshot': {
        await ctx.provider.restoreSnapshot(effect.snapshot, effect.idempotencyKey, signal);
        for (const node of effect.staleNodes) {
          await send(ctx.conn, signal, (o) => ctx.conn.core.deleteNode({ name: node }, o)).catch((err: unknown) => {
            if (statusOf(err) !== 404) throw err;
          });
        }
        return ok({ message: `snapshot ${effect.snapshot} restored` });
      }
    }
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    return failed(effect, err);
  }
}

/**
 * When this process last cordoned each node, by cluster. A drain right after its step's cordon need not cordon again;
 * one that runs later (after a pause, or in a kup restarted since) does, as the node may have been uncordoned.
 */
const cordons = new WeakMap<ClusterConnection, Map<string, number>>();
const FRESH_CORDON_MS = 5_000;

function cordonedAt(conn: ClusterConnection): Map<string, number> {
  let nodes = cordons.get(conn);
  if (!nodes) cordons.set(conn, (nodes = new Map<string, number>()));
  return nodes;
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
interface Forecast {
  /** The pods were read and told. */
  landed: boolean;
  /** The forecast ends: its pods that did not ask no longer count. */
  end(): void;
  /** Ends it after `ms` unless it ended before (a drain that does not come: a run paused in between). */
  endIn(ms: number): void;
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
function forecastDrain(conn: ClusterConnection, node: string): Forecast {
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
    endIn(ms) {
      clearTimeout(timer);
      timer = setTimeout(() => forecast.end(), ms);
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

/**
 * The pods bound to `node`, as the API server's JSON: the gate reads a few fields of each, and client-node's typed
 * mapping would cost more than the read itself, for every node of a batch at its start.
 */
async function podsOn(conn: ClusterConnection, node: string, signal: AbortSignal): Promise<V1Pod[]> {
  await conn.limiter.acquire(signal);
  const res = await conn.getText(`/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`, signal);
  if (res.status !== 200) throw new Error(`listing the pods of ${node}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
  return (JSON.parse(res.body) as { items?: V1Pod[] }).items ?? [];
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
function sharedDaemonSets(conn: ClusterConnection, signal: AbortSignal, clock: DrainClock): Promise<ReadonlySet<string>> {
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

async function drain(effect: Extract<ActionEffect, { type: 'drain' }>, ctx: EngineContext, signal: AbortSignal): Promise<RunEvent> {
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

function failed(effect: ActionEffect, err: unknown): RunEvent {
  const e = err instanceof Error ? err : new Error(String(err));
  const ownCode: unknown = (e as unknown as { code?: unknown }).code;
  const code = typeof ownCode === 'string' ? ownCode : /^(KUP-[A-Z]+-\d+)/.exec(e.message)?.[1];
  const retryable = isRetryableFailure(err);
  const node = 'node' in effect && typeof effect.node === 'string' ? effect.node : undefined;
  return {
    type: 'step-failed',
    key: effect.key,
    action: effect.type,
    error: { ...(code ? { code } : {}), message: e.message },
    retryable,
    cause: { ...(node ? { node } : {}), ...(code ? { code } : {}) },
  };
}

/** The provider's and the node check's view of a plan target (`image` is the machine image). */
function workerTarget(target: NodeTarget): { version: string; machineImage?: string } {
  return { version: target.version, ...(target.image ? { machineImage: target.image } : {}) };
}

/** How long post-upgrade validation waits for transient blockers (pods still starting) to clear. */
const POSTCHECK_SETTLE_MS = 120_000;

/** Socket-level failures worth another try: the API or the provider was briefly out of reach. */
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Whether the machine may retry a failed action by itself: providers say so; API answers are retryable on 429 and
 * 5xx, never on other 4xx; network errors are. Anything else (a bad target, a timeout the action already waited
 * out, a bug) pauses the run with its cause rather than being tried again blindly.
 */
function isRetryableFailure(err: unknown): boolean {
  if (err instanceof ProviderError) return err.retryable;
  const status = statusOf(err);
  if (status !== undefined) return status === 429 || status >= 500;
  const code = (err as { code?: unknown; cause?: { code?: unknown } } | undefined)?.code ?? (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === 'string' && (NETWORK_ERRORS.has(code) || code === ClusterErrorCode.unreachable);
}
