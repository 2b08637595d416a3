/**
 * What the operator asks of a run (pause, resume, cancel, rollback), and the tick that ends a pause past its limit.
 * A command the run cannot take now throws {@link RunTransitionError}; the caller keeps the state it had.
 *
 * @module
 */
import type { ActivePhase, UnitProgress } from './types.ts';
import type { Draft } from './draft.ts';
import { RunErrorCode, RunTransitionError } from './errors.ts';
import { replanAfterPause } from './replan.ts';
import { rollbackAvailability } from './rollback.ts';
import { PRECHECK_KEY, activePhaseOf, unitActions, unitSpec } from './state.ts';
import { issue } from './units.ts';

export function notAllowed(d: Draft, event: string, why?: string): never {
  const phase = d.s.status.phase;
  throw new RunTransitionError(
    RunErrorCode.notAllowed,
    `run ${d.s.runId}: ${event} is not allowed while the run is ${phase}${why ? `: ${why}` : ''}`,
    { runId: d.s.runId, phase, event },
  );
}

export function onPause(d: Draft, message: string | undefined): void {
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
      d.log('paused', `${text}${running > 0 ? ` (${running} started step(s) finish, each with its remaining actions (a replacement its drain and delete); nothing new starts)` : ''}`);
      return;
    }
    default:
      notAllowed(d, 'pause');
  }
}

export function onWindowClosed(d: Draft, resumesAt: number | undefined, message: string | undefined): void {
  const status = d.s.status;
  switch (status.phase) {
    case 'prechecking':
    case 'snapshotting':
    case 'upgrading-control-plane':
    case 'upgrading-pools':
    case 'validating': {
      const running = d.allUnits().filter((u) => u.inFlight !== null).length;
      const next = resumesAt === undefined ? '' : `; resumes when the next window opens, ${new Date(resumesAt).toISOString()}`;
      const text = message ?? 'the maintenance window ended';
      d.setStatus({
        phase: 'paused',
        reason: 'window-closed',
        message: `${text}${next}`,
        pausedAt: d.now,
        resumeTo: status.phase,
        ...(resumesAt !== undefined ? { resumesAt } : {}),
      });
      d.log('paused', `${text}${running > 0 ? ` (${running} started step(s) finish, each with its remaining actions (a replacement its drain and delete); nothing new starts)` : ''}${next}`);
      return;
    }
    default:
      // Paused already (the operator's pause or a failure stands), cancelling, rolling back (never left half-way), or
      // ended: the window's end changes nothing.
      return;
  }
}

export function onResume(d: Draft, replaceNode = false): void {
  const status = d.s.status;
  if (status.phase !== 'paused') {
    notAllowed(
      d,
      'resume',
      status.phase === 'failed' && status.code === 'pause-expired' ? status.reason : 'only a paused run resumes',
    );
  }
  d.set('pausedTotalMs', d.s.pausedTotalMs + Math.max(0, d.now - status.pausedAt));
  const replacing = replaceNode ? replaceableUnits(d) : [];
  if (replaceNode && replacing.length === 0) {
    notAllowed(d, 'resume --replace-node', `no failed step is waiting for a replacement node to become Ready${describeFailures(d)}`);
  }
  if (status.cancelling === true) {
    // The operator's cancel stands: the failed step is tried again (started steps finish), then the run ends.
    d.setStatus({ phase: 'cancelling', requestedAt: d.now });
    discardReplacements(d, replacing);
    const retried = retryFailed(d, (unit) => movesNode(d, unit));
    d.log('resumed', `resumed, still cancelling${retried > 0 ? `: retrying ${retried} failed step(s)` : ''}`);
    return;
  }
  let to: ActivePhase = status.resumeTo;
  if (to === 'prechecking' && d.unit(PRECHECK_KEY)?.inFlight === null)
    to = activePhaseOf(d.s.plan.phases[d.s.cursor.phase]);
  if (to === 'rolling-back') d.setStatus({ phase: to, mode: d.s.rollback?.mode ?? 'nodes' });
  else d.setStatus({ phase: to });
  discardReplacements(d, replacing);
  const retried = retryFailed(d);
  d.log('resumed', `resumed${retried > 0 ? `, retrying ${retried} failed step(s)` : ''}`);
  if (to === 'upgrading-pools') replanAfterPause(d);
}

export function onCancel(d: Draft): void {
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
      // Cancel is the operator's way out of every state, so a failed step is not tried again: it may never succeed (a
      // replacement that never becomes Ready, a budget that never allows), and a cancel that retried it paused again
      // and could not end. Its node stays as the failure left it, and the run says so. Steps in flight finish.
      const leftBehind = abandonFailed(d);
      endSoaks(d);
      d.setStatus({ phase: 'cancelling', requestedAt: d.now, ...(leftBehind.length > 0 ? { leftBehind } : {}) });
      d.log(
        'cancelling',
        `cancelling: started steps finish, no new ones start${leftBehind.length > 0 ? `; left as the failed step(s) left them: ${leftBehind.join('; ')}` : ''}`,
      );
      return;
    }
    case 'snapshotting':
    case 'upgrading-control-plane':
    case 'upgrading-pools':
    case 'validating':
      endSoaks(d);
      d.setStatus({ phase: 'cancelling', requestedAt: d.now });
      d.log('cancelling', 'cancelling: started steps finish, no new ones start');
      return;
    default:
      notAllowed(d, 'cancel');
  }
}

export function onRollback(d: Draft): void {
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
  endSoaks(d);
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

/**
 * Ends every soak in flight: a soak only waits, so a rollback or a cancel need not wait it out (a blue-green final
 * soak lasts an hour). Its late `soak-elapsed` finds nothing in flight and is ignored.
 */
function endSoaks(d: Draft): void {
  for (const unit of d.allUnits()) {
    if (unit.inFlight?.action !== 'soak') continue;
    d.setUnit({ ...unit, inFlight: null });
    d.log('succeeded', `soak ended early by the operator`, { key: unit.key, action: 'soak' });
  }
}

export function onTick(d: Draft): void {
  const status = d.s.status;
  // A run waiting for its next maintenance window waits as long as the schedule says, not against the limit.
  if (status.phase !== 'paused' || status.reason === 'window-closed') return;
  const limit = d.s.options.maxPauseMs;
  if (d.now - status.pausedAt < limit) return;
  const days = limit / 86_400_000;
  const reason = `paused for more than ${Number.isInteger(days) ? `${days} days` : `${limit} ms`} (since ${new Date(status.pausedAt).toISOString()}): the run ended`;
  d.setStatus({ phase: 'failed', code: 'pause-expired', reason, at: d.now });
  d.log('expired', reason);
}

/** Issues again the failed action of every failed unit (those `only` accepts; the others' failures are dropped). */
/**
 * Drops every failed step (it will not be retried) and says what each left on the cluster: the node it was acting on,
 * cordoned if its cordon took effect and no uncordon followed, and the surge node it created beside it if the old node
 * was not deleted yet. Steps that move no node (a check, a snapshot, a validation) leave nothing.
 */
function abandonFailed(d: Draft): string[] {
  const left: string[] = [];
  for (const unit of d.allUnits()) {
    if (unit.failure === null) continue;
    d.setUnit({ ...unit, failure: null });
    const spec = unitSpec(d.view(), unit.key);
    if (spec === undefined || !movesNode(d, unit) || unit.node === undefined) continue;
    const finished = new Set(unitActions(spec, unit).slice(0, unit.done));
    const touched = new Set([...unit.attempted, ...finished]);
    const parts: string[] = [];
    if (touched.has('cordon') && !finished.has('uncordon') && !finished.has('delete-old-node')) parts.push('cordoned');
    if (unit.newNode !== undefined && !finished.has('delete-old-node')) parts.push(`surge node ${unit.newNode} beside it`);
    if (touched.has('upgrade-node-in-place') || touched.has('upgrade-cp-node')) parts.push('its upgrade may be partly applied');
    left.push(`node ${unit.node}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}: ${unit.failure.action} failed: ${unit.failure.cause.message}`);
  }
  return left;
}

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

/**
 * Failed worker steps whose replacement was made and never became Ready: the failure is `wait-node-ready` on the
 * node the step made (`newNode`). In-place upgrades and control-plane nodes have no replacement to replace.
 */
function replaceableUnits(d: Draft): UnitProgress[] {
  return d.allUnits().filter((unit) => {
    if (unit.failure?.action !== 'wait-node-ready' || unit.newNode === undefined) return false;
    const spec = unitSpec(d.view(), unit.key);
    return spec?.kind === 'step' && spec.ref.step.kind === 'worker-node' && spec.ref.step.strategy !== 'in-place';
  });
}

/**
 * Rewrites each unit's remaining actions so that, instead of waiting again for the replacement that never became
 * Ready, it removes that node, makes a new one, and waits for that: `discard-replacement, replace-node` go in before
 * the failed `wait-node-ready`. Issues the removal; the new `replace-node` gets a key of its own (its second
 * occurrence in the unit), so the provider makes a new machine rather than answering with the first.
 */
function discardReplacements(d: Draft, units: readonly UnitProgress[]): void {
  for (const unit of units) {
    const spec = unitSpec(d.view(), unit.key);
    if (spec === undefined) continue;
    const actions = unitActions(spec, unit);
    const script = [...actions.slice(0, unit.done), 'discard-replacement' as const, 'replace-node' as const, ...actions.slice(unit.done)];
    d.setUnit({ ...unit, script, failure: null });
    issue(d, unit.key, { attempt: (unit.failure?.attempt ?? 0) + 1 });
    d.log('resumed', `${unit.newNode} never became Ready: removing it and making a new replacement for ${unit.node ?? unit.key}`, {
      key: unit.key,
      ...(unit.node !== undefined ? { node: unit.node } : {}),
    });
  }
}

function describeFailures(d: Draft): string {
  const failed = d.allUnits().filter((u) => u.failure !== null);
  if (failed.length === 0) return ' (no step has failed)';
  return ` (failed: ${failed.map((u) => `${u.key} at ${u.failure?.action}`).join(', ')}; resume without --replace-node retries them)`;
}

/** Whether a unit moves a node (a worker or control-plane step), as opposed to a check, a snapshot or a gate. */
function movesNode(d: Draft, unit: UnitProgress): boolean {
  const spec = unitSpec(d.view(), unit.key);
  return spec?.kind === 'step' && (spec.ref.step.kind === 'worker-node' || spec.ref.step.kind === 'control-plane-node');
}
