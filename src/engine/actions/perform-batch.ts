/**
 * Like effects performed together. When a batch asks the same thing of many nodes at once (a blue-green move makes
 * its whole green pool, cordons the whole blue pool, deletes it), the executor hands those effects here as one
 * group: one provider request makes or deletes a hundred machines, and the cordons go through a bounded set of
 * workers instead of a thousand requests queued at once. Each effect still reports its own event under its own
 * idempotency key, so the run's state, crash recovery and the event log are those of effects performed one by one
 * (see docs/adr/021-like-effects-performed-together.md).
 *
 * @module
 */
import { markUnschedulable } from '../../drain/cordon.ts';
import type { ActionEffect, RunEvent } from '../../rollout/machine/types.ts';
import type { EngineContext } from '../context.ts';
import type { Outcome } from '../provider.ts';
import { failed, performEffect, workerTarget } from './perform.ts';

/** How effects are grouped: those of one kind, due together, go in one call. */
export type BatchKind = 'replace' | 'delete' | 'cordon';

/**
 * The group an effect can join, or undefined when it is performed alone: one waiting for a retry's backoff
 * (`notBefore`) is, so that its wait does not hold the others.
 */
export function batchKindOf(effect: ActionEffect, now: number): BatchKind | undefined {
  if (effect.notBefore !== null && effect.notBefore > now) return undefined;
  switch (effect.type) {
    case 'replace-node':
      return 'replace';
    case 'delete-old-node':
    case 'discard-replacement':
      return 'delete';
    case 'cordon':
      return 'cordon';
    default:
      return undefined;
  }
}

/** Cordons sent at once by a group when the run does not say. @default */
export const DEFAULT_BATCH_CONCURRENCY = 32;

/**
 * Performs effects of one {@link BatchKind} together; resolves to each one's event, by idempotency key. Rejects only
 * when `signal` aborts (an effect that fails is a `step-failed` event, as alone).
 */
export async function performEffects(
  kind: BatchKind,
  effects: readonly ActionEffect[],
  ctx: EngineContext,
  signal: AbortSignal,
): Promise<Map<string, RunEvent>> {
  signal.throwIfAborted();
  const events = new Map<string, RunEvent>();
  const outcomes = await outcomesOf(kind, effects, ctx, signal);
  effects.forEach((effect, i) => {
    const outcome = outcomes?.[i];
    if (outcome === undefined) return;
    events.set(effect.idempotencyKey, outcome.ok ? succeeded(effect, outcome.value) : failed(effect, outcome.error));
  });
  // What the provider cannot do in one call (or a reply that left an item out) is performed effect by effect.
  const rest = effects.filter((e) => !events.has(e.idempotencyKey));
  await inParallel(rest, ctx.settings.apiConcurrency ?? DEFAULT_BATCH_CONCURRENCY, async (effect) => {
    events.set(effect.idempotencyKey, await performOne(effect, ctx, signal));
  });
  return events;
}

/** The provider's one-call outcomes for the group, in order; undefined when it has no such call. */
async function outcomesOf(
  kind: BatchKind,
  effects: readonly ActionEffect[],
  ctx: EngineContext,
  signal: AbortSignal,
): Promise<readonly Settled[] | undefined> {
  const { provider } = ctx;
  try {
    if (kind === 'replace' && provider.replaceWorkerNodes) {
      const items = effects.flatMap((e) =>
        e.type === 'replace-node' ? [{ node: e.node, target: workerTarget(e.target), key: e.idempotencyKey }] : [],
      );
      if (items.length !== effects.length) return undefined;
      const outcomes = await provider.replaceWorkerNodes(items, signal);
      return outcomes.map((o) => (o.ok ? { ok: true, value: o.value.newNode } : o));
    }
    if (kind === 'delete' && provider.deleteWorkerNodes) {
      const items = effects.flatMap((e) =>
        e.type === 'delete-old-node' || e.type === 'discard-replacement' ? [{ node: e.node, key: e.idempotencyKey }] : [],
      );
      if (items.length !== effects.length) return undefined;
      const outcomes = await provider.deleteWorkerNodes(items, signal);
      return outcomes.map((o) => (o.ok ? { ok: true, value: undefined } : o));
    }
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    // The whole request failed (the infrastructure unreachable past its retry budget): every effect fails with it.
    return effects.map(() => ({ ok: false, error: err }));
  }
  return undefined;
}

/** One item's outcome: the new node of a replacement (undefined for the others), or why it failed. */
type Settled = Outcome<string | undefined> | { readonly ok: false; readonly error: unknown };

/** A grouped effect performed alone: a cordon (Kubernetes has no call for many nodes), or any effect as usual. */
async function performOne(effect: ActionEffect, ctx: EngineContext, signal: AbortSignal): Promise<RunEvent> {
  if (effect.type !== 'cordon') return performEffect(effect, ctx, signal);
  try {
    await markUnschedulable(ctx.conn, effect.node, { signal, clock: ctx.clock });
    ctx.session.noteCordon(effect.node, ctx.clock.now());
    return { type: 'step-succeeded', key: effect.key, action: 'cordon' };
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    return failed(effect, err);
  }
}

function succeeded(effect: ActionEffect, newNode: string | undefined): RunEvent {
  const replaced = effect.type === 'replace-node' && newNode !== undefined;
  return {
    type: 'step-succeeded',
    key: effect.key,
    action: effect.type,
    ...(replaced ? { result: { newNode, message: `${newNode} replaces ${effect.node}` } } : {}),
  };
}

/** Runs `work` on every item, `limit` at a time; rejects with the first failure once the others have stopped. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
