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
 * @module
 */
import type { ActionType, PlanStep, PoolPhase, RolloutPlan } from '../plan-types.ts';
import { parseBatchPolicy, poolBatchSizes } from '../batches.ts';
import { poolBatches } from '../pool-batches.ts';
import { effectOf } from './effects.ts';
import { RunErrorCode, RunTransitionError } from './errors.ts';
import { rollbackAvailability } from './rollback.ts';
import { PRECHECK_KEY, activePhaseOf, currentNode, isTerminal, stageAfter, unitActions, unitSpec } from './state.ts';
import type {
  ActivePhase,
  BlockedPod,
  Effect,
  FailureCause,
  PauseReason,
  RunEvent,
  RunLogEntry,
  RunState,
  RunStatus,
  StepResult,
  TransitionResult,
  UnitProgress,
} from './types.ts';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A transition being built: a shallow copy of the state, copy-on-write units, and the effects so far. Given `owned`
 * (the units of the state it starts from, which nobody else holds), it writes units in place instead, remembering
 * what each held before so that a transition that throws can be undone.
 */
class Draft {
  readonly s: Writable<RunState>;
  private units: Record<string, UnitProgress> | null = null;
  /** In place: each unit set, as it was before (undefined: absent). */
  private readonly undo: Map<string, UnitProgress | undefined> | null;
  readonly effects: Effect[] = [];
  changed = false;

  constructor(
    readonly original: RunState,
    readonly now: number,
    owned?: Record<string, UnitProgress>,
  ) {
    this.s = { ...original };
    const inPlace = owned !== undefined && owned === original.units;
    this.units = inPlace ? owned : null;
    this.undo = inPlace ? new Map() : null;
  }

  /** The units this draft wrote to, when it copied or owned them. */
  ownedUnits(): Record<string, UnitProgress> | undefined {
    return this.units ?? undefined;
  }

  /** Puts back, in owned units, what this draft changed. */
  rollBack(): void {
    if (!this.units || !this.undo) return;
    for (const [key, unit] of this.undo) {
      if (unit === undefined) delete this.units[key];
      else this.units[key] = unit;
    }
  }

  unit(key: string): UnitProgress | undefined {
    return (this.units ?? this.s.units)[key];
  }

  allUnits(): UnitProgress[] {
    return Object.values(this.units ?? this.s.units);
  }

  setUnit(unit: UnitProgress): void {
    if (this.units === null) {
      this.units = { ...this.s.units };
      this.s.units = this.units;
    }
    if (this.undo && !this.undo.has(unit.key)) this.undo.set(unit.key, this.units[unit.key]);
    this.units[unit.key] = unit;
    this.changed = true;
  }

  set<K extends keyof RunState>(field: K, value: RunState[K]): void {
    (this.s as Record<K, RunState[K]>)[field] = value;
    this.changed = true;
  }

  /** The state as it is now (cheap: shares everything). */
  view(): RunState {
    return this.s;
  }

  log(
    outcome: RunLogEntry['outcome'],
    message: string,
    extra: Pick<RunLogEntry, 'key' | 'node' | 'action'> = {},
  ): void {
    const seq = this.s.seq + 1;
    this.set('seq', seq);
    this.effects.push({ type: 'emit-event', entry: { seq, at: this.now, outcome, ...extra, message } });
  }

  setStatus(status: RunStatus): void {
    this.set('status', status);
  }

  result(): TransitionResult {
    if (!this.changed) return { state: this.original, effects: [] };
    this.s.updatedAt = this.now;
    return { state: this.s, effects: this.effects };
  }
}

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
    case 'resume-requested':
      onResume(d);
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
  }
  return d.result();
}

// ---- run-level events ----------------------------------------------------------------------------------------------

function notAllowed(d: Draft, event: string, why?: string): never {
  const phase = d.s.status.phase;
  throw new RunTransitionError(
    RunErrorCode.notAllowed,
    `run ${d.s.runId}: ${event} is not allowed while the run is ${phase}${why ? `: ${why}` : ''}`,
    { runId: d.s.runId, phase, event },
  );
}

function onStarted(d: Draft): void {
  if (d.s.status.phase !== 'pending') notAllowed(d, 'start', 'it has started already');
  d.setStatus({ phase: 'prechecking' });
  d.log('started', `run ${d.s.runId} started: ${describePlan(d.s.plan)}`);
  startUnit(d, PRECHECK_KEY);
}

function onPrecheck(d: Draft, event: Extract<RunEvent, { type: 'precheck-passed' | 'precheck-failed' }>): void {
  const unit = d.unit(PRECHECK_KEY);
  if (!unit || unit.inFlight === null || isTerminal(d.s)) return;
  d.setUnit({ ...unit, done: 1, stage: 'done', inFlight: null, finishedAt: d.now });
  if (event.type === 'precheck-failed') {
    const blockers = event.blockers;
    const summary = blockers
      .slice(0, 3)
      .map((b) => `${b.rule}: ${b.message}`)
      .join('; ');
    d.set('precheckBlockers', blockers);
    const reason = `precheck failed with ${blockers.length} blocker(s)${summary ? `: ${summary}` : ''}${blockers.length > 3 ? '; ...' : ''}`;
    d.setStatus({ phase: 'failed', code: 'precheck-failed', reason, at: d.now });
    d.log('precheck', reason, { key: PRECHECK_KEY });
    return;
  }
  const acknowledged = event.acknowledged ?? [];
  d.set('acknowledged', acknowledged);
  d.set('runningSince', d.now);
  d.log(
    'precheck',
    `precheck passed${acknowledged.length > 0 ? ` with ${acknowledged.length} acknowledged blocker(s): ${acknowledged.map((a) => `${a.rule}${a.object ? `/${a.object}` : ''} (${a.reason})`).join('; ')}` : ''}`,
    { key: PRECHECK_KEY },
  );
  if (d.s.status.phase === 'prechecking') advance(d);
}

function onPause(d: Draft, message: string | undefined): void {
  const status = d.s.status;
  switch (status.phase) {
    case 'paused':
      return;
    case 'prechecking':
    case 'snapshotting':
    case 'upgrading-control-plane':
    case 'upgrading-pools':
    case 'validating':
    case 'rolling-back': {
      const running = d.allUnits().filter((u) => u.inFlight !== null).length;
      const text = message ?? 'paused by the operator';
      d.setStatus({ phase: 'paused', reason: 'requested', message: text, pausedAt: d.now, resumeTo: status.phase });
      d.log('paused', `${text}${running > 0 ? ` (${running} started step(s) finish; nothing new starts)` : ''}`);
      return;
    }
    default:
      notAllowed(d, 'pause');
  }
}

function onResume(d: Draft): void {
  const status = d.s.status;
  if (status.phase !== 'paused') {
    notAllowed(d, 'resume', status.phase === 'failed' && status.code === 'pause-expired' ? status.reason : 'only a paused run resumes');
  }
  d.set('pausedTotalMs', d.s.pausedTotalMs + Math.max(0, d.now - status.pausedAt));
  let to: ActivePhase = status.resumeTo;
  if (to === 'prechecking' && d.unit(PRECHECK_KEY)?.inFlight === null)
    to = activePhaseOf(d.s.plan.phases[d.s.cursor.phase]);
  if (to === 'rolling-back') d.setStatus({ phase: to, mode: d.s.rollback?.mode ?? 'nodes' });
  else d.setStatus({ phase: to });
  const retried = retryFailed(d);
  d.log('resumed', `resumed${retried > 0 ? `, retrying ${retried} failed step(s)` : ''}`);
  if (to === 'upgrading-pools') replanAfterPause(d);
}

function onCancel(d: Draft): void {
  const status = d.s.status;
  switch (status.phase) {
    case 'cancelling':
    case 'cancelled':
      return;
    case 'pending':
    case 'prechecking':
      d.setStatus({ phase: 'cancelled', at: d.now });
      d.log('cancelled', 'cancelled before any change');
      return;
    case 'paused': {
      if (status.resumeTo === 'rolling-back')
        notAllowed(d, 'cancel', 'a rollback cannot be cancelled (it can be paused)');
      d.set('pausedTotalMs', d.s.pausedTotalMs + Math.max(0, d.now - status.pausedAt));
      if (status.resumeTo === 'prechecking' && d.unit(PRECHECK_KEY)?.inFlight !== null) {
        d.setStatus({ phase: 'cancelled', at: d.now });
        d.log('cancelled', 'cancelled before any change');
        return;
      }
      d.setStatus({ phase: 'cancelling', requestedAt: d.now });
      // Nodes whose upgrade started finish, a failed one included: it is retried. A failed step that moves no node
      // (precheck, snapshot, a batch's validation, postcheck) is dropped: the cancel must not wait on it.
      const retried = retryFailed(d, (unit) => movesNode(d, unit));
      d.log(
        'cancelling',
        `cancelling: started steps finish${retried > 0 ? ` (${retried} failed step(s) retried)` : ''}, no new ones start`,
      );
      return;
    }
    case 'snapshotting':
    case 'upgrading-control-plane':
    case 'upgrading-pools':
    case 'validating':
      d.setStatus({ phase: 'cancelling', requestedAt: d.now });
      d.log('cancelling', 'cancelling: started steps finish, no new ones start');
      return;
    default:
      notAllowed(d, 'cancel');
  }
}

function onRollback(d: Draft): void {
  const availability = rollbackAvailability(d.view());
  if (!availability.ok) {
    throw new RunTransitionError(
      RunErrorCode.rollbackRefused,
      `run ${d.s.runId} cannot be rolled back: ${availability.reason}`,
      {
        runId: d.s.runId,
        phase: d.s.status.phase,
        event: 'rollback',
        refusal: availability.refusal,
      },
    );
  }
  const status = d.s.status;
  if (status.phase === 'paused') d.set('pausedTotalMs', d.s.pausedTotalMs + Math.max(0, d.now - status.pausedAt));
  // Failures of forward steps are superseded: the rollback decides what happens to those nodes.
  for (const unit of d.allUnits()) if (unit.failure !== null) d.setUnit({ ...unit, failure: null });
  d.set('rollback', { mode: availability.mode, requestedAt: d.now, batches: availability.batches, cursor: 0 });
  d.setStatus({ phase: 'rolling-back', mode: availability.mode });
  const steps = availability.batches.reduce((n, b) => n + b.steps.length, 0);
  d.log(
    'rolling-back',
    availability.mode === 'snapshot'
      ? `rolling back: ${steps} step(s); worker nodes go back, then snapshot ${d.s.snapshot?.id ?? '?'} restores the state and the control plane`
      : `rolling back: ${steps} step(s); nodes go back to the versions and images they had`,
  );
}

function onTick(d: Draft): void {
  const status = d.s.status;
  if (status.phase !== 'paused') return;
  const limit = d.s.options.maxPauseMs;
  if (d.now - status.pausedAt < limit) return;
  const days = limit / 86_400_000;
  const reason = `paused for more than ${Number.isInteger(days) ? `${days} days` : `${limit} ms`} (since ${new Date(status.pausedAt).toISOString()}): the run ended`;
  d.setStatus({ phase: 'failed', code: 'pause-expired', reason, at: d.now });
  d.log('expired', reason);
}

// ---- units ---------------------------------------------------------------------------------------------------------

interface IssueOptions {
  readonly attempt?: number;
  readonly generation?: number;
  readonly autoRetries?: number;
  readonly notBefore?: number | null;
  readonly force?: boolean;
}

/** Starts a unit: records it and issues its first action. */
function startUnit(d: Draft, key: string, node?: string): void {
  d.setUnit({
    key,
    ...(node !== undefined ? { node } : {}),
    done: 0,
    stage: 'pending',
    inFlight: null,
    failure: null,
    attempted: [],
    startedAt: d.now,
    finishedAt: null,
  });
  issue(d, key);
}

/** Issues the unit's next action (the one at `done`) and emits its effect. */
function issue(d: Draft, key: string, options: IssueOptions = {}): void {
  const unit = d.unit(key);
  const spec = unitSpec(d.view(), key);
  if (!unit || !spec) return;
  const actions = unitActions(spec, unit);
  const action = actions[unit.done];
  if (action === undefined) return;
  const soakUntil = action === 'soak' && spec.kind === 'gate' ? d.now + spec.ref.batch.soakMs : null;
  const next: UnitProgress = {
    ...unit,
    inFlight: {
      action,
      index: unit.done,
      attempt: options.attempt ?? 1,
      generation: options.generation ?? 1,
      autoRetries: options.autoRetries ?? 0,
      issuedAt: d.now,
      startedAt: null,
      notBefore: options.notBefore ?? null,
      force: options.force ?? false,
      until: soakUntil,
    },
    failure: null,
    attempted: unit.attempted.includes(action) ? unit.attempted : [...unit.attempted, action],
  };
  d.setUnit(next);
  const ponr = d.s.plan.pointOfNoReturn;
  if (action === 'upgrade-cp-node' && ponr !== null && ponr.key === key && d.s.pointOfNoReturnPassedAt === null) {
    d.set('pointOfNoReturnPassedAt', d.now);
    d.log('phase', `point of no return: ${ponr.message}`, { key, node: ponr.node, action });
  }
  d.effects.push(effectOf(d.view(), next));
}

function completeAction(d: Draft, unit: UnitProgress, result: StepResult | undefined): void {
  const flight = unit.inFlight;
  const spec = unitSpec(d.view(), unit.key);
  if (!flight || !spec) return;
  const action = flight.action;
  let newNode = unit.newNode;
  if (
    action === 'replace-node' ||
    (action === 'rollback-node' && spec.kind === 'rollback' && spec.step.strategy === 'replace')
  ) {
    if (result?.newNode === undefined || result.newNode === '') {
      throw new RunTransitionError(
        RunErrorCode.invalidEvent,
        `${action} of ${unit.key} succeeded without the new node's name`,
        {
          runId: d.s.runId,
          event: 'step-succeeded',
        },
      );
    }
    newNode = result.newNode;
  }
  if (action === 'take-snapshot') {
    if (result?.snapshot === undefined || result.snapshot === '') {
      throw new RunTransitionError(
        RunErrorCode.invalidEvent,
        `take-snapshot of ${unit.key} succeeded without the snapshot's id`,
        {
          runId: d.s.runId,
          event: 'step-succeeded',
        },
      );
    }
    d.set('snapshot', { id: result.snapshot, takenAt: d.now });
  }
  const updated: UnitProgress = {
    ...unit,
    ...(newNode !== undefined ? { newNode } : {}),
    done: unit.done + 1,
    stage: stageAfter(action),
    inFlight: null,
    failure: null,
  };
  d.setUnit(updated);
  const node = targetNode(d, updated, action);
  d.log(
    'succeeded',
    `${action}${node ? ` ${node}` : ''}: done${result?.message ? ` (${result.message})` : ''}${newNode !== undefined && newNode !== unit.newNode ? `, new node ${newNode}` : ''}`,
    {
      key: unit.key,
      action,
      ...(node ? { node } : {}),
    },
  );
  const actions = unitActions(spec, updated);
  if (updated.done < actions.length) {
    issue(d, unit.key);
    return;
  }
  finishUnit(d, updated);
}

function finishUnit(d: Draft, unit: UnitProgress): void {
  const spec = unitSpec(d.view(), unit.key);
  const quarantined = unit.script !== undefined;
  d.setUnit({ ...unit, stage: quarantined ? 'quarantined' : 'done', finishedAt: d.now });
  if (spec?.kind === 'step' && spec.ref.step.kind === 'worker-node' && unit.newNode !== undefined) {
    d.set('lineage', { ...d.s.lineage, [spec.ref.step.node]: unit.newNode });
  }
  if (spec?.kind === 'step' || spec?.kind === 'rollback') {
    d.log(
      quarantined ? 'quarantined' : 'succeeded',
      quarantined
        ? `${unit.node ?? unit.key} left cordoned and labelled ${d.s.options.quarantineLabel}=true`
        : `step done`,
      { key: unit.key, ...(unit.node !== undefined ? { node: unit.node } : {}) },
    );
  }
}

function failAction(d: Draft, unit: UnitProgress, event: Extract<RunEvent, { type: 'step-failed' }>): void {
  const flight = unit.inFlight;
  if (!flight) return;
  const node = event.cause?.node ?? targetNode(d, unit, flight.action);
  const cause: FailureCause = {
    ...(event.cause ?? {}),
    key: unit.key,
    action: flight.action,
    ...(node ? { node } : {}),
    ...(event.error.code !== undefined ? { code: event.error.code } : {}),
    message: event.error.message,
  };
  const options = d.s.options;
  if (event.retryable === true && flight.autoRetries < options.maxAutoRetries) {
    const delay = Math.min(options.retryMaxDelayMs, options.retryBaseDelayMs * 2 ** flight.autoRetries);
    d.log(
      'retrying',
      `${flight.action}${node ? ` ${node}` : ''} failed (${event.error.message}); retrying in ${delay} ms`,
      {
        key: unit.key,
        action: flight.action,
        ...(node ? { node } : {}),
      },
    );
    issue(d, unit.key, {
      attempt: flight.attempt + 1,
      generation: flight.generation,
      autoRetries: flight.autoRetries + 1,
      notBefore: d.now + delay,
      force: flight.force,
    });
    return;
  }
  recordFailure(d, unit, cause, { drainTimedOut: false, retryable: event.retryable === true });
  pauseForError(d, 'step-failed', cause, `${flight.action}${node ? ` of ${node}` : ''} failed: ${event.error.message}`);
}

function recordFailure(
  d: Draft,
  unit: UnitProgress,
  cause: FailureCause,
  how: { readonly drainTimedOut: boolean; readonly retryable: boolean },
): void {
  const flight = unit.inFlight;
  if (!flight) return;
  d.setUnit({
    ...unit,
    inFlight: null,
    failure: {
      action: flight.action,
      index: flight.index,
      attempt: flight.attempt,
      generation: flight.generation,
      retryable: how.retryable,
      at: d.now,
      cause,
      drainTimedOut: how.drainTimedOut,
    },
  });
  d.log('failed', cause.message, { key: unit.key, action: flight.action, ...(cause.node ? { node: cause.node } : {}) });
}

function onDrainTimeout(d: Draft, unit: UnitProgress, pods: readonly BlockedPod[], message: string | undefined): void {
  const flight = unit.inFlight;
  const spec = unitSpec(d.view(), unit.key);
  if (!flight || !spec) return;
  const node = targetNode(d, unit, 'drain') ?? '';
  const blocked = describePods(pods);
  const text = `drain of ${node} timed out${blocked ? `: ${blocked}` : ''}${message ? ` (${message})` : ''}`;
  const first = pods[0];
  const cause: FailureCause = {
    key: unit.key,
    action: 'drain',
    node,
    ...(spec.kind === 'step' && spec.ref.step.kind === 'worker-node' ? { pool: spec.ref.step.pool } : {}),
    ...(first ? { pod: first.pod } : {}),
    ...(first?.pdb !== undefined ? { pdb: first.pdb } : {}),
    pods,
    code: 'KUP-DRAIN-003',
    message: text,
  };
  const policy = d.s.options.drainTimeoutPolicy;
  // Quarantine is a way forward, not back: a rollback's drain that times out pauses (or forces, if that is the policy).
  const forward = spec.kind === 'step';
  if (policy === 'force' && !flight.force) {
    d.set('forcedDrains', [...d.s.forcedDrains, { key: unit.key, node, pods, at: d.now }]);
    d.setUnit({ ...unit, forced: true });
    d.log('forced', `${text}; draining again past the PodDisruptionBudgets (drain-timeout policy force)`, {
      key: unit.key,
      node,
      action: 'drain',
    });
    issue(d, unit.key, { attempt: flight.attempt + 1, generation: flight.generation + 1, force: true });
    return;
  }
  if (policy === 'quarantine' && forward) {
    const actions = unitActions(spec, unit);
    d.set('quarantined', [...d.s.quarantined, { key: unit.key, node, pods, at: d.now }]);
    d.setUnit({ ...unit, inFlight: null, script: [...actions.slice(0, unit.done), 'label-node'] });
    d.log(
      'quarantined',
      `${text}; ${node} stays cordoned and is labelled ${d.s.options.quarantineLabel}=true (drain-timeout policy quarantine)`,
      {
        key: unit.key,
        node,
        action: 'drain',
      },
    );
    issue(d, unit.key);
    return;
  }
  // A drain is the engine's own call, not the provider's: a new key is harmless.
  recordFailure(d, unit, cause, { drainTimedOut: true, retryable: false });
  pauseForError(d, 'drain-timed-out', cause, text);
}

/** Pauses the run because of a failure (or updates the pause's cause when it is paused already). */
function pauseForError(d: Draft, reason: PauseReason, cause: FailureCause, message: string): void {
  const status = d.s.status;
  let resumeTo: ActivePhase;
  let pausedAt = d.now;
  switch (status.phase) {
    case 'paused':
      resumeTo = status.resumeTo;
      pausedAt = status.pausedAt;
      break;
    case 'cancelling':
      resumeTo = activePhaseOf(d.s.plan.phases[d.s.cursor.phase]);
      break;
    case 'prechecking':
    case 'snapshotting':
    case 'upgrading-control-plane':
    case 'upgrading-pools':
    case 'validating':
    case 'rolling-back':
      resumeTo = status.phase;
      break;
    default:
      return;
  }
  d.setStatus({ phase: 'paused', reason, message, pausedAt, cause, resumeTo });
  d.log('paused', `paused: ${message}; resume retries it`, {
    ...(cause.key !== undefined ? { key: cause.key } : {}),
    ...(cause.node !== undefined ? { node: cause.node } : {}),
  });
}

/** Issues again the failed action of every failed unit (those `only` accepts; the others' failures are dropped). */
function retryFailed(d: Draft, only?: (unit: UnitProgress) => boolean): number {
  let n = 0;
  for (const unit of d.allUnits()) {
    const failure = unit.failure;
    if (failure === null) continue;
    if (only !== undefined && !only(unit)) {
      d.setUnit({ ...unit, failure: null });
      continue;
    }
    n += 1;
    const force = failure.drainTimedOut && d.s.options.drainTimeoutPolicy === 'force';
    d.setUnit({ ...unit, failure: null });
    issue(d, unit.key, {
      attempt: failure.attempt + 1,
      generation: failure.retryable && !force ? failure.generation : failure.generation + 1,
      force,
    });
  }
  return n;
}

/** Whether a unit moves a node (a worker or control-plane step), as opposed to a check, a snapshot or a gate. */
function movesNode(d: Draft, unit: UnitProgress): boolean {
  const spec = unitSpec(d.view(), unit.key);
  return spec?.kind === 'step' && (spec.ref.step.kind === 'worker-node' || spec.ref.step.kind === 'control-plane-node');
}

// ---- scheduling ----------------------------------------------------------------------------------------------------

/** Moves the run on: finishes a cancel, starts the next batch or gate, ends the run. Starts nothing while paused. */
function advance(d: Draft): void {
  const phase = d.s.status.phase;
  if (phase === 'cancelling') {
    if (d.allUnits().some((u) => u.inFlight !== null || u.failure !== null)) return;
    d.setStatus({ phase: 'cancelled', at: d.now });
    d.log('cancelled', 'cancelled: the started steps finished; nodes done stay upgraded, the others were not touched');
    return;
  }
  if (phase === 'rolling-back') {
    advanceRollback(d);
    return;
  }
  if (phase === 'prechecking') {
    const precheck = d.unit(PRECHECK_KEY);
    if (!precheck || precheck.done < 1) return;
  } else if (
    phase !== 'snapshotting' &&
    phase !== 'upgrading-control-plane' &&
    phase !== 'upgrading-pools' &&
    phase !== 'validating'
  ) {
    return;
  }
  const plan = d.s.plan;
  for (;;) {
    const { phase: p, batch: b } = d.s.cursor;
    const planPhase = plan.phases[p];
    if (!planPhase) {
      d.setStatus({ phase: 'succeeded', at: d.now });
      const q = d.s.quarantined.length;
      d.log(
        'succeeded',
        `upgrade finished: ${describePlan(plan)}${q > 0 ? `; ${q} node(s) quarantined: ${d.s.quarantined.map((x) => x.node).join(', ')}` : ''}`,
      );
      return;
    }
    const batch = planPhase.batches[b];
    if (!batch) {
      d.set('cursor', { phase: p + 1, batch: 0 });
      continue;
    }
    const status = activePhaseOf(planPhase);
    if (d.s.status.phase !== status) {
      d.setStatus({ phase: status });
      d.log('phase', describePhase(planPhase));
    }
    for (const step of batch.steps) if (!d.unit(step.key)) startStep(d, step);
    if (batch.steps.some((step) => !finished(d, step.key))) return;
    if (batch.gate.length > 0) {
      if (!d.unit(batch.key)) startUnit(d, batch.key);
      if (!finished(d, batch.key)) return;
    }
    d.set('cursor', { phase: p, batch: b + 1 });
  }
}

function advanceRollback(d: Draft): void {
  for (;;) {
    const rollback = d.s.rollback;
    if (!rollback) return;
    const batch = rollback.batches[rollback.cursor];
    if (!batch) {
      d.setStatus({ phase: 'rolled-back', mode: rollback.mode, at: d.now });
      d.log(
        'rolled-back',
        rollback.mode === 'snapshot'
          ? `rolled back: snapshot ${d.s.snapshot?.id ?? '?'} restored; the control plane and the nodes run what they ran before`
          : 'rolled back: the nodes run the versions and images they had before',
      );
      return;
    }
    for (const step of batch.steps) {
      if (!d.unit(step.key)) startUnit(d, step.key, step.node);
    }
    if (batch.steps.some((step) => !finished(d, step.key))) return;
    d.set('rollback', { ...rollback, cursor: rollback.cursor + 1 });
  }
}

function startStep(d: Draft, step: PlanStep): void {
  if (step.kind !== 'worker-node') {
    // A control-plane node's start is logged like a worker's: the log alone shows that they moved one at a time.
    if (step.kind === 'control-plane-node') d.log('started', `upgrading control-plane node ${step.ordinal}: ${step.node} ${step.from} -> ${step.to}`, { key: step.key, node: step.node });
    startUnit(d, step.key, step.kind === 'control-plane-node' ? step.node : undefined);
    return;
  }
  const node = currentNode(d.view(), step.node);
  if (d.s.quarantined.some((q) => q.node === node)) {
    // The slot's node was quarantined by an earlier move and nothing replaced it: leave it alone.
    d.setUnit({
      key: step.key,
      node,
      done: 0,
      stage: 'skipped',
      inFlight: null,
      failure: null,
      attempted: [],
      startedAt: d.now,
      finishedAt: d.now,
    });
    d.log('skipped', `${node} is quarantined: left out of this move`, { key: step.key, node });
    return;
  }
  d.log(
    'started',
    `${step.strategy === 'in-place' ? 'upgrading' : 'replacing'} ${node} to ${step.to.version}${step.to.image ? ` (${step.to.image})` : ''}`,
    {
      key: step.key,
      node,
    },
  );
  startUnit(d, step.key, node);
}

function finished(d: Draft, key: string): boolean {
  const unit = d.unit(key);
  if (!unit) return false;
  if (unit.stage === 'skipped') return true;
  if (unit.inFlight !== null || unit.failure !== null) return false;
  const spec = unitSpec(d.view(), key);
  return spec === undefined || unit.done >= unitActions(spec, unit).length;
}

/**
 * ACK: "If you pause the upgrade, the first batch after the pause includes one node." Re-plans the current pool
 * move's batches that have not started, when the policy is exponential and the sizes would change.
 */
function replanAfterPause(d: Draft): void {
  const plan = d.s.plan;
  const { phase: p, batch: b } = d.s.cursor;
  const phase = plan.phases[p];
  if (phase?.kind !== 'pool' || parseBatchPolicy(phase.batchPolicy).kind !== 'exponential') return;
  const current = phase.batches[b];
  const from = current && current.steps.some((s) => d.unit(s.key) !== undefined) ? b + 1 : b;
  const rest = phase.batches.slice(from);
  const steps = rest.flatMap((batch) => batch.steps).filter((s) => s.kind === 'worker-node');
  if (steps.length === 0 || steps.some((s) => d.unit(s.key) !== undefined)) return;
  const sizes = poolBatchSizes(steps.length, phase.poolSize, parseBatchPolicy(phase.batchPolicy), phase);
  const old = rest.map((batch) => batch.steps.length);
  if (sizes.length === old.length && sizes.every((n, i) => n === old[i])) return;
  const batches = [
    ...phase.batches.slice(0, from),
    ...poolBatches(
      phase,
      steps.map((s) => ({ node: s.node, from: s.from, to: s.to })),
      from + 1,
      plan.estimates,
    ),
  ];
  const next: PoolPhase = { ...phase, batches, estimateMs: batches.reduce((s, x) => s + x.estimateMs, 0) };
  const phases = plan.phases.map((x, i) => (i === p ? next : x));
  const replanned: RolloutPlan = {
    ...plan,
    revision: plan.revision + 1,
    phases,
    expectedDurationMs: phases.reduce((s, x) => s + x.estimateMs, 0),
  };
  d.set('plan', replanned);
  d.log(
    'replanned',
    `pool ${phase.pool}: the ${steps.length} remaining node(s) re-planned in batches of ${sizes.join(', ')} (the first batch after a pause is one node)`,
  );
}

// ---- words ---------------------------------------------------------------------------------------------------------

function targetNode(d: Draft, unit: UnitProgress, action: ActionType): string | undefined {
  const spec = unitSpec(d.view(), unit.key);
  if (spec?.kind === 'rollback') {
    const a = spec.step.actions[unit.inFlight?.index ?? Math.max(0, unit.done - 1)];
    return a?.node ?? unit.newNode;
  }
  if (action === 'wait-node-ready') return unit.newNode ?? unit.node;
  return unit.node;
}

function describePods(pods: readonly BlockedPod[]): string {
  if (pods.length === 0) return '';
  const shown = pods
    .slice(0, 3)
    .map((p) => `${p.pod}${p.pdb ? ` blocked by PDB ${p.pdb}` : ''}${p.reason ? ` (${p.reason})` : ''}`);
  return `${shown.join(', ')}${pods.length > 3 ? ` and ${pods.length - 3} more pod(s)` : ''}`;
}

function describePlan(plan: RolloutPlan): string {
  return plan.kind === 'image'
    ? `machine-image upgrade of ${plan.cluster}`
    : `${plan.cluster} ${plan.from} -> ${plan.to}`;
}

function describePhase(phase: RolloutPlan['phases'][number]): string {
  switch (phase.kind) {
    case 'snapshot':
      return 'taking the snapshot';
    case 'control-plane':
      return `upgrading the control plane ${phase.from} -> ${phase.to} (hop ${phase.hop}), one node at a time`;
    case 'pool':
      return `upgrading pool ${phase.pool} to ${phase.to.version}${phase.to.image ? ` (${phase.to.image})` : ''}: ${phase.batches.length} batch(es), ${phase.strategy}`;
    case 'validation':
      return 'validating the upgraded cluster';
  }
}
