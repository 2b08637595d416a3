/**
 * Applying one event to a stored run: read the state, run the pure transition, and commit the new state together
 * with the log entries it emitted, in one transaction, guarded by the run's version (optimistic concurrency).
 * The executor and the operator's commands (pause, resume, cancel, rollback) both come through here, so a
 * conflict only means "someone moved first": read again and re-apply.
 */
import { KupError } from '../errors/kup-error.ts';
import type { KupStore } from '../persistence/store.ts';
import { RunConflictError } from '../persistence/errors.ts';
import type { NewRunEvent } from '../persistence/events-repo.ts';
import { isTerminal, reviveRunState, storedEntries, storedPlanRevision, storedRunState } from '../rollout/machine/state.ts';
import type { BatchResult } from '../rollout/machine/transition.ts';
import { transitionAll } from '../rollout/machine/transition.ts';
import type { RolloutPlan } from '../rollout/plan-types.ts';
import type { StoredEntry } from '../rollout/machine/state.ts';
import type { Effect, RunEvent, RunState } from '../rollout/machine/types.ts';

/** Options of applyEvent. */
export interface ApplyEventOptions {
  /** Fencing: only the lease holder may write (the executor passes its owner id). */
  leaseOwner?: string;
  /** Tries on version conflicts before giving up. @default 20 */
  maxConflicts?: number;
  /**
   * The run as the caller last committed or read it: transitioned without reading it again, and read again only when
   * the commit finds a newer version (the executor's own commits are the common case: a read of a 1,000-node run's
   * state costs more than the transition). @default read it
   */
  known?: { state: RunState; version: number };
}

/** What one of the events given to {@link applyEvents} did: its effects, or why the machine refused it. */
export type AppliedEvent = BatchResult;

/** A run that does not exist. */
export class RunNotFoundError extends KupError<'KUP-RUN-404', { readonly run: string }> {
  override readonly name = 'RunNotFoundError';
  constructor(readonly runId: string) {
    super('KUP-RUN-404', `run ${runId} does not exist`, { kind: 'not-found', details: { run: runId } });
  }
}

/**
 * Plans as the store has them in a run's plan column. The state is committed without its plan (see
 * `StoredRunState`), so a commit writes the plan only when it is not one of these: a new run's, or a re-plan's.
 * Plans are immutable: a re-plan is a new object.
 */
const storedPlans = new WeakSet<RolloutPlan>();

/**
 * Reads a run's state and version. With `known` (the run as the caller last committed or read it), only what
 * changed is read: nothing when the run is still at that version, the state without its plan when the plan is the
 * same revision (what an executor polling a 1,000-node run does several times a second).
 */
export async function loadRun(store: KupStore, runId: string, known?: { state: RunState; version: number }): Promise<{ state: RunState; version: number }> {
  if (known) {
    const read = await store.runs.readState(runId, known.version);
    if (!read) throw new RunNotFoundError(runId);
    if (read.state === undefined) return known;
    if (storedPlanRevision(read.state) === known.state.plan.revision) {
      return { state: reviveRunState(read.state, known.state.plan), version: read.version };
    }
  }
  const row = await store.runs.get(runId);
  if (!row) throw new RunNotFoundError(runId);
  const state = reviveRunState(row.state, row.plan);
  // The plan came from the plan column, unless the state was written before plans were stored apart and carries its
  // own: then the next commit stores that one in the plan column.
  if (storedPlanRevision(row.state) !== undefined) storedPlans.add(state.plan);
  return { state, version: row.version };
}

/**
 * What the store keeps of a new run: its plan (see {@link storedPlans}: its states are committed without it from
 * then on), its state, and the entries of its per-node maps.
 */
export function newRunColumns(state: RunState): { plan: RolloutPlan; state: unknown; entries: readonly StoredEntry[] } {
  storedPlans.add(state.plan);
  return { plan: state.plan, state: storedRunState(state), entries: storedEntries(undefined, state) };
}

/** Applies `event` at time `now`; resolves to the committed state and the effects the transition asked for. */
export async function applyEvent(
  store: KupStore,
  runId: string,
  event: RunEvent,
  now: number,
  options: ApplyEventOptions = {},
): Promise<{ state: RunState; effects: readonly Effect[]; version: number }> {
  const { state, version, results } = await applyEvents(store, runId, [event], now, options);
  const result = results[0];
  if (result?.ok !== true) throw result?.error;
  return { state, effects: result.effects, version };
}

/**
 * Applies `events` in order at time `now` and commits them together: one read (none with `known`), one write. The
 * executor hands over every report that arrived while its last commit was being written, so a batch of a hundred
 * nodes costs a few commits, not a thousand. An event the machine refuses is reported in its result and leaves the
 * state as the events before it left it; the others still apply.
 */
export async function applyEvents(
  store: KupStore,
  runId: string,
  events: readonly RunEvent[],
  now: number,
  options: ApplyEventOptions = {},
): Promise<{ state: RunState; version: number; results: readonly AppliedEvent[] }> {
  const max = options.maxConflicts ?? 20;
  let known = options.known;
  for (let attempt = 0; ; attempt++) {
    const { state, version } = known ?? (await loadRun(store, runId));
    known = undefined;
    const { state: next, results } = transitionAll(state, events, now);
    const entries = results.flatMap((r) => (r.ok ? logEntries(r.effects) : []));
    if (next === state && entries.length === 0) return { state, version, results };
    try {
      const planChanged = !storedPlans.has(next.plan);
      const committed = await store.runs.commitStep(
        runId,
        version,
        {
          state: storedRunState(next),
          // A plan the store does not have yet is a new run's, a re-plan's, or a state written before plans and
          // entries were stored apart: its entries are written whole, as the store may not hold them.
          entries: storedEntries(state, next, planChanged),
          ...(planChanged ? { plan: next.plan } : {}),
          phase: next.status.phase,
          active: !isTerminal(next),
          at: now,
        },
        entries,
        options.leaseOwner ? { leaseOwner: options.leaseOwner } : {},
      );
      if (planChanged) storedPlans.add(next.plan);
      return { state: next, version: committed.version, results };
    } catch (err) {
      if (err instanceof RunConflictError && attempt + 1 < max) continue;
      throw err;
    }
  }
}

/** The log entries a transition emitted, as the events repository stores them. */
function logEntries(effects: readonly Effect[]): NewRunEvent[] {
  return effects.flatMap((e) =>
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
}
