/**
 * What the executor reports: the run started, the precheck's verdict, and each action's outcome (succeeded, failed,
 * drain timed out). A success issues the unit's next action or finishes it; a failure is retried with backoff when
 * it may be, else recorded and the run paused with its cause; a drain timeout follows the run's drain-timeout policy.
 *
 * @module
 */
import { advance } from './batch-progression.ts';
import { describePlan, describePods, targetNode } from './describe.ts';
import type { Draft } from './draft.ts';
import { RunErrorCode, RunTransitionError } from './errors.ts';
import { notAllowed } from './operator-commands.ts';
import { PRECHECK_KEY, activePhaseOf, isTerminal, stageAfter, unitActions, unitSpec } from './state.ts';
import type {
  ActivePhase,
  BlockedPod,
  FailureCause,
  PauseReason,
  RunEvent,
  StepResult,
  UnitProgress,
} from './types.ts';
import { issue, startUnit } from './units.ts';

export function onStarted(d: Draft): void {
  if (d.s.status.phase !== 'pending') notAllowed(d, 'start', 'it has started already');
  d.setStatus({ phase: 'prechecking' });
  d.log('started', `run ${d.s.runId} started: ${describePlan(d.s.plan)}`);
  startUnit(d, PRECHECK_KEY);
}

export function onPrecheck(d: Draft, event: Extract<RunEvent, { type: 'precheck-passed' | 'precheck-failed' }>): void {
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
  if (event.failingWorkloads !== undefined && event.failingWorkloads.length > 0) d.set('failingBefore', event.failingWorkloads);
  d.set('runningSince', d.now);
  d.log(
    'precheck',
    `precheck passed${acknowledged.length > 0 ? ` with ${acknowledged.length} acknowledged blocker(s): ${acknowledged.map((a) => `${a.rule}${a.object ? `/${a.object}` : ''} (${a.reason})`).join('; ')}` : ''}`,
    { key: PRECHECK_KEY },
  );
  if (d.s.status.phase === 'prechecking') advance(d);
}

export function completeAction(d: Draft, unit: UnitProgress, result: StepResult | undefined): void {
  const flight = unit.inFlight;
  const spec = unitSpec(d.view(), unit.key);
  if (!flight || !spec) return;
  const action = flight.action;
  let newNode = unit.newNode;
  if (
    action === 'replace-node' ||
    (action === 'rollback-node' && spec.kind === 'rollback' && spec.step.strategy !== 'in-place')
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
  let updated: UnitProgress = {
    ...unit,
    ...(newNode !== undefined ? { newNode } : {}),
    done: unit.done + 1,
    stage: stageAfter(action),
    inFlight: null,
    failure: null,
  };
  if (action === 'discard-replacement' && unit.newNode !== undefined) {
    // The replacement is gone: the step stands where it stood before making it, and makes the next one.
    const { newNode: gone, ...rest } = updated;
    const before = unitActions(spec, unit)
      .slice(0, unit.done)
      .filter((a) => a !== 'replace-node' && a !== 'discard-replacement' && a !== 'wait-node-ready')
      .at(-1);
    updated = { ...rest, discarded: [...(unit.discarded ?? []), gone ?? ''], stage: before ? stageAfter(before) : 'running' };
  }
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
  const quarantined = unit.script?.at(-1) === 'label-node';
  d.setUnit({ ...unit, stage: quarantined ? 'quarantined' : 'done', finishedAt: d.now });
  if (spec?.kind === 'step' && spec.ref.step.kind === 'worker-node') {
    const step = spec.ref.step;
    // Blue-green: the slot's node is its blue node until blue is deleted, then its green node.
    const next =
      step.blueGreen === undefined
        ? unit.newNode
        : step.blueGreen.stage === 'delete'
          ? d.unit(step.blueGreen.green)?.newNode
          : undefined;
    if (next !== undefined) d.set('lineage', { ...d.s.lineage, [step.node]: next });
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

export function failAction(d: Draft, unit: UnitProgress, event: Extract<RunEvent, { type: 'step-failed' }>): void {
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

export function onDrainTimeout(
  d: Draft,
  unit: UnitProgress,
  pods: readonly BlockedPod[],
  message: string | undefined,
): void {
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
  // Nor is it one for a control-plane node: the hop cannot leave a node of the control plane behind.
  // Nor for a blue node of a blue-green move: it is deleted at the end of the move, quarantined or not.
  const forward = spec.kind === 'step' && spec.ref.step.kind === 'worker-node' && spec.ref.step.blueGreen === undefined;
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
  const bound = d.s.options.maxBlockedNodes ?? null;
  if (policy === 'quarantine' && forward && bound !== null && d.s.quarantined.length >= bound) {
    // AKS's maxBlockedNodes: past the bound the run stops leaving nodes behind and asks the operator, naming every
    // node it holds back and what blocks each, so one look tells whether it is one budget or a cluster-wide problem.
    const held = d.s.quarantined.map((q) => `${q.node}${q.pods.length > 0 ? ` (${describePods(q.pods)})` : ''}`);
    const why =
      `${text}; ${bound} node(s) may be quarantined (--max-blocked-nodes) and ` +
      (held.length > 0 ? `${held.length} are: ${held.join('; ')}` : 'none may be');
    recordFailure(d, unit, { ...cause, message: why }, { drainTimedOut: true, retryable: false });
    pauseForError(d, 'drain-timed-out', { ...cause, message: why }, why);
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
export function pauseForError(d: Draft, reason: PauseReason, cause: FailureCause, message: string): void {
  const status = d.s.status;
  let resumeTo: ActivePhase;
  let pausedAt = d.now;
  let cancelling = false;
  switch (status.phase) {
    case 'paused':
      resumeTo = status.resumeTo;
      pausedAt = status.pausedAt;
      cancelling = status.cancelling === true;
      break;
    case 'cancelling':
      resumeTo = activePhaseOf(d.s.plan.phases[d.s.cursor.phase]);
      cancelling = true;
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
  d.setStatus({ phase: 'paused', reason, message, pausedAt, cause, resumeTo, ...(cancelling ? { cancelling: true } : {}) });
  d.log('paused', `paused: ${message}; resume retries it`, {
    ...(cause.key !== undefined ? { key: cause.key } : {}),
    ...(cause.node !== undefined ? { node: cause.node } : {}),
  });
}
