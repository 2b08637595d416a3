/**
 * The run state machine: `transition(state, event, now) -> { state, effects }`. Pure: no clock (time is the `now`
 * argument), no I/O; effects are data the executor performs.
 *
 * Crash-safety contract with the executor:
 * 1. Persist the returned state (and its `emit-event` records, in the same transaction) BEFORE performing effects.
 * 2. Every effect carries its step `key` and an `idempotencyKey`; performing it twice acts once.
 * 3. On restart, perform {@link pendingEffects} of the persisted state: the actions that were asked and not reported.
 * 4. Report each outcome as an event (`step-succeeded`, `step-failed`, `drain-timed-out`, `soak-elapsed`, ...) with
 *    the effect's `key` and `type` as `action`. A report for an action that is not in flight (a duplicate after a
 *    restart) is ignored: the state comes back unchanged, with no effects.
 *
 * Semantics follow ACK (seed 004): a pause lets the nodes whose upgrade started finish and starts no new ones; resume
 * continues and retries a failed step; cancel works from paused, or from running once the current nodes finish, and
 * leaves the nodes done upgraded; an error pauses the run with its cause; a pause longer than 15 days (configurable)
 * ends the run. A resume in an `exponential` pool re-plans the remaining batches so the first one after the pause is
 * one node again. Operator events the run cannot take now throw {@link RunTransitionError}.
 *
 * This file is the one entry and the table of events; the parts: `operator-commands.ts` (pause, resume, cancel,
 * rollback, pause expiry), `step-reports.ts` (the executor's reports), `batch-progression.ts` (what starts next),
 * `units.ts` (issuing a unit's actions), `replan.ts` (the re-plan on resume), `draft.ts` (the state being built and
 * its undo log), `describe.ts` (the log's words).
 *
 * @module
 */
import type { ActionType } from '../plan-types.ts';
import { advance } from './batch-progression.ts';
import { onApiReachable, onApiUnreachable } from './cluster-health.ts';
import { Draft } from './draft.ts';
import { onCancel, onPause, onResume, onRollback, onTick, onWindowClosed } from './operator-commands.ts';
import { isTerminal } from './state.ts';
import { completeAction, failAction, onDrainTimeout, onPrecheck, onStarted } from './step-reports.ts';
import type { Effect, RunEvent, RunState, TransitionResult, UnitProgress } from './types.ts';

/**
 * Applies one event to a run's state. Returns the new state and the effects to perform (after persisting the state).
 * An event that does not apply (a late or duplicate report) returns the same state object and no effects.
 * @throws {RunTransitionError} `KUP-RUN-001` for an operator event the run cannot take now, `-002` for a refused
 *   rollback (with the reason), `-004` for a report the machine cannot use.
 */
export function transition(state: RunState, event: RunEvent, now: number): TransitionResult {
  return transitionDraft(new Draft(state, now), event);
}

/** What one event of {@link transitionAll} did: its effects, or what it threw (its changes undone). */
export type BatchResult = { ok: true; effects: readonly Effect[] } | { ok: false; error: unknown };

/**
 * Applies events one after the other, as many calls of {@link transition} would, and returns the last state. The
 * states between the events are never seen outside, so the events share one copy of the units instead of copying a
 * thousand nodes' units each: a batch of reports from a large pool costs one copy. An event that throws leaves the
 * state as the events before it left it, and the others still apply. `state` itself is never changed.
 */
export function transitionAll(
  state: RunState,
  events: readonly RunEvent[],
  now: number,
): { state: RunState; results: BatchResult[] } {
  let next = state;
  let owned: Record<string, UnitProgress> | undefined;
  const results: BatchResult[] = [];
  for (const event of events) {
    const d = new Draft(next, now, owned);
    try {
      const result = transitionDraft(d, event);
      next = result.state;
      owned = d.ownedUnits() ?? owned;
      results.push({ ok: true, effects: result.effects });
    } catch (error) {
      d.rollBack();
      results.push({ ok: false, error });
    }
  }
  return { state: next, results };
}

function transitionDraft(d: Draft, event: RunEvent): TransitionResult {
  const state = d.original;
  const now = d.now;
  switch (event.type) {
    case 'started':
      onStarted(d);
      break;
    case 'precheck-passed':
    case 'precheck-failed':
      onPrecheck(d, event);
      break;
    case 'step-started': {
      const unit = d.unit(event.key);
      if (unit?.inFlight?.action === event.action && unit.inFlight.startedAt === null) {
        d.setUnit({ ...unit, inFlight: { ...unit.inFlight, startedAt: now } });
      }
      break;
    }
    case 'step-succeeded':
    case 'soak-elapsed': {
      const action: ActionType = event.type === 'soak-elapsed' ? 'soak' : event.action;
      const unit = d.unit(event.key);
      if (!unit || unit.inFlight?.action !== action || isTerminal(state)) break;
      completeAction(d, unit, event.type === 'step-succeeded' ? event.result : undefined);
      advance(d);
      break;
    }
    case 'step-failed': {
      const unit = d.unit(event.key);
      if (!unit || unit.inFlight?.action !== event.action || isTerminal(state)) break;
      failAction(d, unit, event);
      advance(d);
      break;
    }
    case 'drain-timed-out': {
      const unit = d.unit(event.key);
      if (!unit || unit.inFlight?.action !== 'drain' || isTerminal(state)) break;
      onDrainTimeout(d, unit, event.pods, event.message);
      advance(d);
      break;
    }
    case 'pause-requested':
      onPause(d, event.message);
      break;
    case 'window-closed':
      onWindowClosed(d, event.resumesAt, event.message);
      break;
    case 'resume-requested':
      onResume(d, event.replaceNode === true);
      advance(d);
      break;
    case 'cancel-requested':
      onCancel(d);
      advance(d);
      break;
    case 'rollback-requested':
      onRollback(d);
      advance(d);
      break;
    case 'tick':
      onTick(d);
      break;
    case 'api-unreachable':
      onApiUnreachable(d, event);
      break;
    case 'api-reachable':
      onApiReachable(d, event);
      break;
    case 'step-waiting': {
      // Only a step still doing that action speaks: a late notice of one that finished meanwhile says nothing.
      const unit = d.unit(event.key);
      if (!unit || unit.inFlight?.action !== event.action || isTerminal(state)) break;
      d.log('waiting', event.message, { key: event.key, action: event.action, ...(unit.node !== undefined ? { node: unit.node } : {}) });
      break;
    }
  }
  return d.result();
}
