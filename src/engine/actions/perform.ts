/**
 * Performs one effect of the run state machine against the cluster and the provider, and says what happened as
 * the event the machine takes next. Expected failures are events (step-failed with a cause, drain-timed-out), not
 * exceptions; only cancellation (the signal) rejects.
 */
import { runChecks } from '../../checks/runner.ts';
import { healsByRetry, statusOf } from '../../kube-api/errors.ts';
import { send } from '../../kube-api/requests.ts';
import { markUnschedulable, uncordonNode } from '../../drain/cordon.ts';
import type { NodeTarget } from '../../rollout/plan-types.ts';
import type { ActionEffect, RunEvent } from '../../rollout/machine/types.ts';
import type { EngineContext } from '../context.ts';
import { ProviderError } from '../provider.ts';
import type { ProviderCapabilities } from '../provider.ts';
import { drainAction } from './drain-node.ts';
import type { NodeReadyTarget } from './node-wait.ts';
import { waitForNodeReady } from './node-wait.ts';
import { validateBatch } from './validate.ts';
import { providerVersions, withProviderFindings } from '../provider-checks.ts';
import { REPLACEMENT_TAINT, isReplacementTaint, removeReplacementTaint, taintNodes, untaintAll } from './replacement-taint.ts';

/** Performs `effect`; resolves to the event that reports it. Rejects only when `signal` aborts. */
export async function performEffect(
  effect: ActionEffect,
  ctx: EngineContext,
  signal: AbortSignal,
  /** Told what the action waits for now, when it knows (the executor says it once the step is slow). */
  onWaiting?: (detail: string) => void,
): Promise<RunEvent> {
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
        const report = await withProviderFindings(
          await runChecks(ctx.conn, {
            target: effect.target,
            phase: 'precheck',
            catalog: ctx.catalog,
            acknowledgements: ctx.settings.acknowledgements,
            ...ctx.settings.precheck,
            providerVersions: providerVersions(ctx.provider),
            signal,
          }),
          ctx.provider,
          signal,
          ctx.settings.acknowledgements,
        );
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
        const failingWorkloads = report.baseline.failingWorkloads ?? [];
        return { type: 'precheck-passed', acknowledged, ...(failingWorkloads.length > 0 ? { failingWorkloads } : {}) };
      }
      case 'take-snapshot': {
        const snap = await ctx.provider.takeSnapshot(effect.idempotencyKey, signal);
        return ok({ snapshot: snap.id, message: `snapshot ${snap.id} (${snap.sizeBytes} bytes)` });
      }
      case 'upgrade-cp-node':
        // What the provider says it waits for is what a slow step's notice says.
        await ctx.provider.upgradeControlPlaneNode(effect.node, effect.version, effect.idempotencyKey, signal, (p) => onWaiting?.(p.message));
        return ok({ message: `${effect.node} runs ${effect.version}` });
      case 'check-api-health': {
        const deadline = ctx.clock.now() + 60_000;
        for (;;) {
          const res = await readiness(ctx.conn, signal);
          if (res.status === 200) return ok(res.endpoint === '/readyz' ? undefined : { message: `the API server serves no /readyz: ${res.endpoint} answered 200` });
          if (ctx.clock.now() > deadline) throw new Error(`KUP-ENGINE-004: ${res.endpoint} answered ${res.status} for 60s after ${effect.node}: ${res.body.slice(0, 200)}`);
          await ctx.clock.sleep(500, signal);
        }
      }
      case 'cordon':
        await markUnschedulable(ctx.conn, effect.node, { signal, clock: ctx.clock });
        ctx.session.noteCordon(effect.node, ctx.clock.now());
        return ok();
      case 'uncordon': {
        ctx.session.forgetCordon(effect.node);
        const { object } = await uncordonNode(ctx.conn, effect.node, { signal, clock: ctx.clock });
        // A node that stays (upgraded in place, or kept by a rollback) loses the taint its pool's turn put on it.
        if ((object.spec?.taints ?? []).some(isReplacementTaint)) await removeReplacementTaint(ctx.conn, effect.node, signal, ctx.clock);
        return ok();
      }
      case 'taint-nodes': {
        if (effect.nodes === null) {
          const n = await untaintAll(ctx.conn, signal, ctx.clock);
          return ok({ message: `taint ${REPLACEMENT_TAINT.key} taken off ${n} node(s)` });
        }
        const n = await taintNodes(ctx.conn, effect.nodes, signal, ctx.clock);
        return ok({ message: `${n} of ${effect.nodes.length} node(s) to be replaced tainted ${REPLACEMENT_TAINT.key}:${REPLACEMENT_TAINT.effect}` });
      }
      case 'drain':
        return await drainAction(effect, ctx, signal);
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
        const forecast = effect.thenDrains !== undefined ? ctx.session.forecastDrain(effect.thenDrains) : undefined;
        try {
          await waitForNodeReady(
            ctx.session,
            effect.node,
            readyTarget(effect.target, ctx.provider.capabilities),
            ctx.settings.nodeReadyTimeoutMs,
            signal,
            (why) => onWaiting?.(`node ${effect.node} ${why}`),
          );
        } catch (err) {
          forecast?.end();
          throw err;
        }
        forecast?.expectDrain();
        return ok();
      }
      case 'delete-old-node':
      case 'discard-replacement':
        await ctx.provider.deleteWorkerNode(effect.node, effect.idempotencyKey, signal);
        return ok();
      case 'label-node':
        await send(ctx.conn, signal, (o) => ctx.conn.core.patchNode({ name: effect.node, body: { metadata: { labels: effect.labels } } }, o), {
          'Content-Type': 'application/merge-patch+json',
        });
        return ok();
      case 'validate-batch':
        await validateBatch(ctx.conn, effect.nodes, ctx.settings.validateTimeoutMs, ctx.clock, signal, effect.failingBefore ?? []);
        return ok();
      case 'soak':
        // A timer may fire a millisecond before the wall clock reaches its end: the soak lasts until the clock says so.
        while (effect.until > ctx.clock.now()) await ctx.clock.sleep(effect.until - ctx.clock.now(), signal);
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
            providerVersions: providerVersions(ctx.provider),
            signal,
            ...(effect.quarantined ? { quarantined: effect.quarantined } : {}),
            ...(effect.pending ? { pending: effect.pending } : {}),
            ...(effect.failingBefore ? { baseline: { pendingWorkloads: [], failingWorkloads: effect.failingBefore } } : {}),
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
        if (effect.strategy !== 'in-place') {
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

/** The event of an effect that failed with `err`: its code, its message, and whether the machine may retry it. */
export function failed(effect: ActionEffect, err: unknown): RunEvent {
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
export function workerTarget(target: NodeTarget): { version: string; machineImage?: string } {
  return { version: target.version, ...(target.image ? { machineImage: target.image } : {}) };
}

/**
 * What a replacement must report to count as ready: the target's version, and its image where the provider's nodes
 * report the image they boot from ({@link ProviderCapabilities.nodesReportImage}).
 */
export function readyTarget(
  target: NodeTarget | undefined,
  capabilities: Pick<ProviderCapabilities, 'nodesReportImage'>,
): NodeReadyTarget {
  if (target === undefined) return {};
  const { version, machineImage } = workerTarget(target);
  return { version, ...(machineImage !== undefined && capabilities.nodesReportImage !== false ? { machineImage } : {}) };
}

/** How long post-upgrade validation waits for transient blockers (pods still starting) to clear. */
const POSTCHECK_SETTLE_MS = 120_000;

/**
 * Whether the machine may retry a failed action by itself: providers say so; API answers are retryable on 429 and
 * 5xx, never on other 4xx; network errors are. Anything else (a bad target, a timeout the action already waited
 * out, a bug) pauses the run with its cause rather than being tried again blindly.
 */
function isRetryableFailure(err: unknown): boolean {
  if (err instanceof ProviderError) return err.retryable;
  return healsByRetry(err);
}

/**
 * The API server's readiness: `/readyz`; where it is not served (404), `/healthz`, then the core group's discovery
 * (`/api`), as the precheck's snapshot does. A request that fails counts as status 0.
 */
async function readiness(conn: EngineContext['conn'], signal: AbortSignal): Promise<{ endpoint: string; status: number; body: string }> {
  let answer = { endpoint: '/readyz', status: 0, body: '' };
  for (const endpoint of ['/readyz', '/healthz', '/api']) {
    const res = await conn.getText(endpoint, signal).catch((err: unknown) => ({ status: 0, body: String(err) }));
    answer = { endpoint, ...res };
    if (res.status !== 404) break;
  }
  return answer;
}
