/**
 * The progress view of a run, as ACK shows it: the phase, control-plane node i of n, nodes upgraded / total per
 * pool and the current batch, and an ETA. Pure: computed from the state, the plan and `now`.
 *
 * The ETA is the plan's critical path left (the longest step of each batch, batches and phases one after the other),
 * counting the time already spent on actions in flight, scaled by the run's pace so far: the time it actually took,
 * pauses left out, against what the plan expected for the work done.
 *
 * @module
 */
import type { ActionType, PlanBatch, PlanStep, PoolPhase, RolloutPlan } from '../plan-types.ts';
import { stepActions } from '../plan-steps.ts';
import type { RollbackStep, RunPhase, RunState, RunStatus, UnitProgress } from './types.ts';
import { PRECHECK_KEY, isTerminal } from './state.ts';

/** Control-plane progress: node `i` of `n` in hop `hop` of `hops` (ACK's master serial number, from 1). */
export interface ControlPlaneProgress {
  /** 1-based number of the node being upgraded (the last one when the hop is done; 0 before it starts). */
  readonly i: number;
  readonly n: number;
  readonly hop: number;
  readonly hops: number;
  /** Version of the current hop; null for a plan without control-plane hops. */
  readonly to: string | null;
}

/** One pool's progress, in its current move. */
export interface PoolProgress {
  readonly name: string;
  /** Nodes done in the current move. */
  readonly upgraded: number;
  /** Nodes in the current move. */
  readonly total: number;
  /** 1-based batch being worked on (the last one when done; 0 before the move starts). */
  readonly currentBatch: number;
  readonly batches: number;
  /** Nodes quarantined (left cordoned) or skipped in the current move. */
  readonly quarantined: number;
  /** 1-based move of the pool being shown, and how many it has (a pool can follow several hops). */
  readonly move: number;
  readonly moves: number;
  /** What the current move brings the pool to. */
  readonly to: string;
}

/** An action the executor is performing. */
export interface InFlightProgress {
  readonly key: string;
  readonly action: ActionType;
  readonly node?: string;
  readonly since: number;
  readonly attempt: number;
}

/** Time left. */
export interface Eta {
  /** Critical path left, scaled by the pace so far. */
  readonly remainingMs: number;
  /** `now + remainingMs` while the run is moving; null while paused and once it has ended. */
  readonly finishesAt: number | null;
  /** Actual time over expected time for the work done so far (1 until there is enough to tell). */
  readonly pace: number;
}

/** The progress view of a run. */
export interface RunProgress {
  readonly phase: RunPhase;
  readonly status: RunStatus;
  readonly controlPlane: ControlPlaneProgress;
  readonly pools: readonly PoolProgress[];
  readonly inFlight: readonly InFlightProgress[];
  /** Rollback steps done / total, while rolling back or after. */
  readonly rollback: { readonly done: number; readonly total: number } | null;
  readonly eta: Eta;
}

const MIN_WORK_FOR_PACE_MS = 1_000;

/**
 * The progress of a run.
 * @param plan - the run's plan: `state.plan` (which carries re-planned batches after a resume).
 */
export function progressOf(state: RunState, plan: RolloutPlan, now: number): RunProgress {
  const unit = (key: string): UnitProgress | undefined => state.units[key];
  const inFlight: InFlightProgress[] = [];
  for (const u of Object.values(state.units)) {
    if (u.inFlight === null) continue;
    inFlight.push({
      key: u.key,
      action: u.inFlight.action,
      ...(u.node !== undefined ? { node: u.node } : {}),
      since: u.inFlight.issuedAt,
      attempt: u.inFlight.attempt,
    });
  }
  return {
    phase: state.status.phase,
    status: state.status,
    controlPlane: controlPlaneProgress(plan, unit),
    pools: poolsProgress(plan, unit),
    inFlight,
    rollback: rollbackProgress(state, unit),
    eta: eta(state, plan, now, unit),
  };
}

function done(u: UnitProgress | undefined, actions: readonly ActionType[]): boolean {
  if (!u) return false;
  if (u.stage === 'skipped') return true;
  return u.inFlight === null && u.failure === null && u.done >= (u.script ?? actions).length;
}

function controlPlaneProgress(
  plan: RolloutPlan,
  unit: (key: string) => UnitProgress | undefined,
): ControlPlaneProgress {
  const hops = plan.phases.filter((p) => p.kind === 'control-plane');
  if (hops.length === 0) return { i: 0, n: plan.controlPlaneNodes.length, hop: 0, hops: 0, to: null };
  // The hop being worked on: the first with an unfinished node, else the last.
  let current = hops[hops.length - 1];
  for (const hop of hops) {
    if (hop.batches.some((b) => b.steps.some((s) => !done(unit(s.key), stepActions(s))))) {
      current = hop;
      break;
    }
  }
  if (!current) return { i: 0, n: 0, hop: 0, hops: hops.length, to: null };
  const steps = current.batches.flatMap((b) => b.steps);
  const started = steps.filter((s) => unit(s.key) !== undefined);
  const working = steps.findIndex((s) => unit(s.key) !== undefined && !done(unit(s.key), stepActions(s)));
  const i = working >= 0 ? working + 1 : started.length;
  return { i, n: steps.length, hop: current.hop, hops: hops.length, to: current.to };
}

function poolsProgress(plan: RolloutPlan, unit: (key: string) => UnitProgress | undefined): PoolProgress[] {
  const byPool = new Map<string, PoolPhase[]>();
  for (const phase of plan.phases) {
    if (phase.kind !== 'pool') continue;
    let list = byPool.get(phase.pool);
    if (!list) byPool.set(phase.pool, (list = []));
    list.push(phase);
  }
  const out: PoolProgress[] = [];
  for (const [name, moves] of byPool) {
    const startedMove = (m: PoolPhase): boolean =>
      m.batches.some((b) => b.steps.some((s) => unit(s.key) !== undefined));
    const finishedMove = (m: PoolPhase): boolean =>
      m.batches.every((b) => b.steps.every((s) => done(unit(s.key), stepActions(s))));
    // The move in progress, else the last one started, else the first.
    let index = moves.findIndex((m) => startedMove(m) && !finishedMove(m));
    if (index < 0) {
      for (let k = moves.length - 1; k >= 0; k--) {
        const m = moves[k];
        if (m && startedMove(m)) {
          index = k;
          break;
        }
      }
    }
    if (index < 0) index = 0;
    const move = moves[index];
    if (!move) continue;
    const steps = move.batches.flatMap((b) => b.steps);
    let upgraded = 0;
    let quarantined = 0;
    for (const s of steps) {
      const u = unit(s.key);
      if (!u) continue;
      if (u.stage === 'quarantined' || u.stage === 'skipped') quarantined += 1;
      else if (done(u, stepActions(s))) upgraded += 1;
    }
    let currentBatch = 0;
    move.batches.forEach((b: PlanBatch) => {
      if (b.steps.some((s) => unit(s.key) !== undefined)) currentBatch = b.index;
    });
    out.push({
      name,
      upgraded,
      total: steps.length,
      currentBatch,
      batches: move.batches.length,
      quarantined,
      move: index + 1,
      moves: moves.length,
      to: `${move.to.version}${move.to.image ? ` (${move.to.image})` : ''}`,
    });
  }
  return out;
}

function rollbackProgress(
  state: RunState,
  unit: (key: string) => UnitProgress | undefined,
): { done: number; total: number } | null {
  if (!state.rollback) return null;
  let total = 0;
  let finished = 0;
  for (const batch of state.rollback.batches) {
    for (const step of batch.steps) {
      total += 1;
      if (
        done(
          unit(step.key),
          step.actions.map((a) => a.type),
        )
      )
        finished += 1;
    }
  }
  return { done: finished, total };
}

// ---- ETA -----------------------------------------------------------------------------------------------------------

function eta(state: RunState, plan: RolloutPlan, now: number, unit: (key: string) => UnitProgress | undefined): Eta {
  if (isTerminal(state)) return { remainingMs: 0, finishesAt: null, pace: 1 };
  const est = plan.estimates;
  const actionsLeft = (u: UnitProgress | undefined, actions: readonly ActionType[], whole: number): number => {
    if (!u) return whole;
    if (done(u, actions)) return 0;
    const list = u.script ?? actions;
    let left = 0;
    for (let k = u.done; k < list.length; k++) {
      const a = list[k];
      if (a !== undefined) left += est[a];
    }
    const flight = u.inFlight;
    if (flight !== null) {
      const spent = Math.max(0, now - (flight.startedAt ?? flight.issuedAt));
      left -= Math.min(spent, est[flight.action]);
    }
    return Math.max(0, left);
  };
  const stepLeft = (s: PlanStep): number => {
    const u = unit(s.key);
    const left = actionsLeft(u, stepActions(s), s.estimateMs);
    // A node soak is not among the action estimates: it lasts its time, counted from when it started.
    const soak = s.kind === 'worker-node' ? (s.soakMs ?? 0) : 0;
    if (soak === 0 || !u || u.inFlight === null && u.done >= stepActions(s).length) return left;
    if (u.inFlight?.action === 'soak') return left + Math.max(0, (u.inFlight.until ?? now) - now);
    return u.done < stepActions(s).length ? left + soak : left;
  };
  const batchLeft = (b: PlanBatch): number => {
    const steps = Math.max(0, ...b.steps.map(stepLeft));
    if (b.gate.length === 0) return steps;
    const gate = unit(b.key);
    // The gate's checks (validate-batch, a canary's postcheck) at their estimates, then its soak.
    const checks = b.gate.filter((a) => a !== 'soak');
    if (!gate) return steps + checks.reduce((sum, a) => sum + est[a], 0) + b.soakMs;
    if (gate.inFlight?.action === 'soak') return Math.max(0, (gate.inFlight.until ?? now) - now);
    const rest = checks.slice(gate.done).reduce((sum, a) => sum + est[a], 0) + b.soakMs;
    return done(gate, b.gate) ? 0 : Math.max(0, rest - (gate.inFlight ? now - gate.inFlight.issuedAt : 0));
  };

  let forwardLeft = 0;
  const precheck = unit(PRECHECK_KEY);
  const precheckLeft = precheck && precheck.done >= 1 ? 0 : est.precheck;
  plan.phases.forEach((phase, p) => {
    if (p < state.cursor.phase) return;
    phase.batches.forEach((b, i) => {
      if (p === state.cursor.phase && i < state.cursor.batch) return;
      forwardLeft += p === state.cursor.phase && i === state.cursor.batch ? batchLeft(b) : b.estimateMs;
    });
  });

  let remaining: number;
  let workDone = plan.expectedDurationMs - forwardLeft;
  if (state.rollback) {
    const rb = state.rollback;
    const stepLeftRb = (s: RollbackStep): number =>
      actionsLeft(
        unit(s.key),
        s.actions.map((a) => a.type),
        s.estimateMs,
      );
    remaining = 0;
    let total = 0;
    rb.batches.forEach((b, i) => {
      const whole = Math.max(0, ...b.steps.map((s) => s.estimateMs));
      total += whole;
      if (i < rb.cursor) return;
      remaining += i === rb.cursor ? Math.max(0, ...b.steps.map(stepLeftRb)) : whole;
    });
    workDone = total - remaining;
  } else {
    remaining = precheckLeft + forwardLeft;
  }

  const status = state.status;
  const since = state.rollback ? state.rollback.requestedAt : state.runningSince;
  let pace = 1;
  if (since !== null) {
    const pausedNow = status.phase === 'paused' ? Math.max(0, now - status.pausedAt) : 0;
    // Pauses before the rollback started are not part of its time.
    const pausedBefore = state.rollback ? 0 : state.pausedTotalMs;
    const active = now - since - pausedBefore - pausedNow;
    if (workDone >= MIN_WORK_FOR_PACE_MS && active > 0) pace = Math.min(4, Math.max(0.25, active / workDone));
  }
  const remainingMs = Math.round(remaining * pace);
  const moving = status.phase !== 'paused' && status.phase !== 'pending';
  return { remainingMs, finishesAt: moving ? now + remainingMs : null, pace };
}
