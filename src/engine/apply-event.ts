/**
 * Applying one event to a stored run: read the state, run the pure transition, and commit the new state together
 * with the log entries it emitted, in one transaction, guarded by the run's version (optimistic concurrency).
 * The executor and the operator's commands (pause, resume, cancel, rollback) both come through here, so a
 * conflict only means "someone moved first": read again and re-apply.
 */
import type { KupStore } from '../persistence/store.ts';
import { RunConflictError } from '../persistence/errors.ts';
import type { NewRunEvent } from '../persistence/events-repo.ts';
import { isTerminal, reviveRunState } from '../rollout/machine/state.ts';
import { transition } from '../rollout/machine/transition.ts';
import type { Effect, RunEvent, RunState } from '../rollout/machine/types.ts';

/** Options of applyEvent. */
export interface ApplyEventOptions {
  /** Fencing: only the lease holder may write (the executor passes its owner id). */
  leaseOwner?: string;
  /** Tries on version conflicts before giving up. @default 20 */
  maxConflicts?: number;
}

/** A run that does not exist. */
export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
  readonly code = 'KUP-RUN-404';
  constructor(readonly runId: string) {
    super(`KUP-RUN-404: run ${runId} does not exist`);
  }
}

/** Reads a run's state and version. */
export async function loadRun(store: KupStore, runId: string): Promise<{ state: RunState; version: number }> {
  const row = await store.runs.get(runId);
  if (!row) throw new RunNotFoundError(runId);
  return { state: reviveRunState(row.state), version: row.version };
}

/** Applies `event` at time `now`; resolves to the committed state and the effects the transition asked for. */
export async function applyEvent(
  store: KupStore,
  runId: string,
  event: RunEvent,
  now: number,
  options: ApplyEventOptions = {},
): Promise<{ state: RunState; effects: readonly Effect[]; version: number }> {
  const max = options.maxConflicts ?? 20;
  for (let attempt = 0; ; attempt++) {
    const { state, version } = await loadRun(store, runId);
    const result = transition(state, event, now);
    const entries: NewRunEvent[] = result.effects.flatMap((e) =>
      e.type === 'emit-event'
        ? [
            {
              at: e.entry.at,
              step: e.entry.key ?? 'run',
              ...(e.entry.node ? { node: e.entry.node } : {}),
              outcome: e.entry.outcome,
              message: e.entry.message,
              data: { seq: e.entry.seq, ...(e.entry.action ? { action: e.entry.action } : {}) },
            },
          ]
        : [],
    );
    if (result.state === state && entries.length === 0) return { state, effects: result.effects, version };
    try {
      const committed = await store.runs.commitStep(
        runId,
        version,
        { state: result.state, phase: result.state.status.phase, active: !isTerminal(result.state), at: now },
        entries,
        options.leaseOwner ? { leaseOwner: options.leaseOwner } : {},
      );
      return { state: result.state, effects: result.effects, version: committed.version };
    } catch (err) {
      if (err instanceof RunConflictError && attempt + 1 < max) continue;
      throw err;
    }
  }
}
