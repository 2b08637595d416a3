/**
 * Fleet rollouts through the store: create one from a spec (its stages resolved against the registered clusters and
 * their labels), apply an event (an operator's command or a driver's report) with optimistic concurrency, and read
 * them back. The state machine is `src/fleet-rollouts`; the driver that performs its effects is `rollout-driver.ts`.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { RolloutEffect, RolloutEvent, RolloutState } from '../fleet-rollouts/index.ts';
import {
  RolloutError,
  RolloutErrorCode,
  createRolloutState,
  reviveRolloutState,
  transitionRollout,
} from '../fleet-rollouts/index.ts';
import { StoreError, StoreErrorCode } from '../persistence/errors.ts';
import type { KupStore, RolloutEventRow } from '../persistence/store.ts';

const ENDED = new Set(['succeeded', 'cancelled']);

/** A new rollout id: time-ordered, then random. */
export function newRolloutId(now: number): string {
  return `ro-${now.toString(36)}-${randomBytes(3).toString('hex')}`;
}

/**
 * Creates a rollout and starts it (its first stage waits for approval, or its baselines are asked for): the driver
 * of a running `kup serve` performs the rest.
 * @throws {RolloutError} KUP-ROLLOUT-001 for a bad spec (the field named).
 */
export async function createRollout(store: KupStore, spec: unknown, now: number): Promise<RolloutState> {
  const clusters = await store.clusters.list();
  const settings = new Map((await store.lifecycle.list()).map((r) => [r.cluster, r.labels]));
  const pending = createRolloutState(
    spec,
    clusters.map((c) => ({ name: c.name, labels: settings.get(c.name) ?? {} })),
    { id: newRolloutId(now), now },
  );
  const { state, effects } = transitionRollout(pending, { type: 'started' }, now);
  await store.rollouts.create(
    {
      id: state.id,
      name: state.name,
      phase: state.status.phase,
      active: !ENDED.has(state.status.phase),
      state,
      createdAt: now,
      updatedAt: now,
    },
    logRows(effects),
  );
  return state;
}

/** A rollout's state. @throws {RolloutError} KUP-ROLLOUT-004 when there is none of that id. */
export async function loadRollout(store: KupStore, id: string): Promise<{ state: RolloutState; version: number }> {
  const row = await store.rollouts.get(id);
  if (row === undefined)
    throw new RolloutError(RolloutErrorCode.notFound, `no rollout ${id} (kup rollout list shows them)`, {
      rollout: id,
    });
  return { state: reviveRolloutState(row.state), version: row.version };
}

/**
 * Applies an event to a rollout and commits it with its log entries, retrying on a concurrent write (re-reading the
 * state). Returns the new state and the effects to perform.
 * @throws {RolloutError} what the machine refuses (KUP-ROLLOUT-002), KUP-ROLLOUT-004 for an unknown id.
 */
export async function applyRolloutEvent(
  store: KupStore,
  id: string,
  event: RolloutEvent,
  now: number,
): Promise<{ state: RolloutState; effects: readonly RolloutEffect[] }> {
  for (let attempt = 0; ; attempt++) {
    const { state, version } = await loadRollout(store, id);
    const { state: next, effects } = transitionRollout(state, event, now);
    if (next === state) return { state, effects: [] };
    try {
      await store.rollouts.commit(
        id,
        version,
        { phase: next.status.phase, active: !ENDED.has(next.status.phase), state: next, updatedAt: now },
        logRows(effects),
      );
      return { state: next, effects };
    } catch (err) {
      if (err instanceof StoreError && err.code === StoreErrorCode.rolloutConflict && attempt < 20) continue;
      throw err;
    }
  }
}

function logRows(effects: readonly RolloutEffect[]): RolloutEventRow[] {
  return effects.flatMap((e) => (e.type === 'emit-event' ? [e.entry] : []));
}
