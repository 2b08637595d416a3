/**
 * Creating a run's state, reading one back from storage, and the lookups every part of the machine shares: which
 * unit a key names, what its actions are, which node it acts on.
 *
 * @module
 */
import type { ActionType, PlanBatch, PlanPhase, PlanStep, RolloutPlan } from '../plan-types.ts';
import { stepActions } from '../plan-steps.ts';
import { RunErrorCode, RunTransitionError } from './errors.ts';
import type {
  ActivePhase,
  ResolvedRunOptions,
  RollbackState,
  RollbackStep,
  RunOptions,
  RunPhase,
  RunState,
  UnitProgress,
  UnitStage,
} from './types.ts';

/** Fifteen days: ACK ends an upgrade paused longer. */
export const DEFAULT_MAX_PAUSE_MS = 15 * 24 * 60 * 60 * 1000;

/** Key of the precheck unit. */
export const PRECHECK_KEY = 'precheck';

/** Key of the unit that takes kup's PreferNoSchedule taint off every node (cancel, rollback). */
export const UNTAINT_KEY = 'untaint';

/** Key of the unit that taints the nodes a pool move will replace, at the start of its turn. */
export function taintKey(phase: PlanPhase): string {
  return `${phase.key}/taint`;
}

/** The defaults of {@link RunOptions}. */
export const DEFAULT_RUN_OPTIONS: ResolvedRunOptions = Object.freeze({
  drainTimeoutPolicy: 'pause',
  maxPauseMs: DEFAULT_MAX_PAUSE_MS,
  maxAutoRetries: 2,
  retryBaseDelayMs: 5_000,
  retryMaxDelayMs: 60_000,
  quarantineLabel: 'kup.dev/quarantined',
  maxBlockedNodes: null,
});

/** What {@link createRunState} needs besides the plan. */
export interface CreateRunOptions extends RunOptions {
  readonly runId: string;
  /** Creation time, milliseconds since the epoch. */
  readonly now: number;
}

/** The state of a new run: `pending`, nothing started. */
export function createRunState(plan: RolloutPlan, options: CreateRunOptions): RunState {
  const { runId, now, ...rest } = options;
  const resolved: ResolvedRunOptions = { ...DEFAULT_RUN_OPTIONS };
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) Object.assign(resolved, { [k]: v });
  if (!['pause', 'quarantine', 'force'].includes(resolved.drainTimeoutPolicy)) {
    throw new RunTransitionError(
      RunErrorCode.invalidState,
      `drain-timeout policy "${String(resolved.drainTimeoutPolicy)}" is not pause, quarantine or force`,
      { runId },
    );
  }
  const maxBlocked = resolved.maxBlockedNodes;
  if (maxBlocked !== null && (!Number.isInteger(maxBlocked) || maxBlocked < 0)) {
    throw new RunTransitionError(
      RunErrorCode.invalidState,
      `run option maxBlockedNodes must be a whole number >= 0, not ${String(maxBlocked)}`,
      { runId },
    );
  }
  if (maxBlocked !== null && resolved.drainTimeoutPolicy !== 'quarantine') {
    throw new RunTransitionError(
      RunErrorCode.invalidState,
      `run option maxBlockedNodes bounds the quarantine drain-timeout policy, not "${resolved.drainTimeoutPolicy}"`,
      { runId },
    );
  }
  for (const [field, value, min] of [
    ['maxPauseMs', resolved.maxPauseMs, 1],
    ['maxAutoRetries', resolved.maxAutoRetries, 0],
    ['retryBaseDelayMs', resolved.retryBaseDelayMs, 0],
    ['retryMaxDelayMs', resolved.retryMaxDelayMs, 0],
  ] as const) {
    if (!Number.isFinite(value) || value < min) {
      throw new RunTransitionError(
        RunErrorCode.invalidState,
        `run option ${field} must be a number >= ${min}, not ${value}`,
        {
          runId,
        },
      );
    }
  }
  return {
    schema: 1,
    runId,
    plan,
    options: resolved,
    status: { phase: 'pending' },
    cursor: { phase: 0, batch: 0 },
    units: {},
    lineage: {},
    snapshot: null,
    pointOfNoReturnPassedAt: null,
    acknowledged: [],
    precheckBlockers: [],
    quarantined: [],
    forcedDrains: [],
    rollback: null,
    createdAt: now,
    runningSince: null,
    pausedTotalMs: 0,
    seq: 0,
    updatedAt: now,
  };
}

/**
 * A state as it is stored: everything but the plan, which is stored once beside it (a 1,000-node plan is 40 % of
 * the state, and states are committed after every step) and named here by its revision, and with its per-node maps
 * empty: their entries are stored one by one ({@link storedEntries}).
 */
export type StoredRunState = Omit<RunState, 'plan'> & { readonly planRevision: number };

/** The maps of a state that hold an entry per unit or per node slot, stored entry by entry. */
const ENTRY_MAPS = ['units', 'lineage'] as const;

/** One entry of {@link ENTRY_MAPS} to store, or to remove (no value). */
export interface StoredEntry {
  readonly map: (typeof ENTRY_MAPS)[number];
  readonly key: string;
  readonly value?: unknown;
}

/** The stored form of `state` (see {@link StoredRunState}); its maps' entries are {@link storedEntries}. */
export function storedRunState(state: RunState): StoredRunState {
  const { plan, ...rest } = state;
  const emptied = Object.fromEntries(ENTRY_MAPS.map((map) => [map, {}])) as Record<(typeof ENTRY_MAPS)[number], Record<string, never>>;
  return { ...rest, ...emptied, planRevision: plan.revision };
}

/**
 * The entries of the state's per-node maps that `after` sets or removes compared with `before`. States are immutable
 * and a transition copies only what it changes, so an entry is unchanged when it is the same value: a commit after a
 * step of one node writes that node's entry, not a thousand. With `all` (or no `before`), every entry of `after` is
 * set, for a store that may not hold them yet.
 */
export function storedEntries(before: RunState | undefined, after: RunState, all = before === undefined): StoredEntry[] {
  const entries: StoredEntry[] = [];
  for (const map of ENTRY_MAPS) {
    const was: Readonly<Record<string, unknown>> = before?.[map] ?? {};
    const now: Readonly<Record<string, unknown>> = after[map];
    if (was === now && !all) continue;
    for (const [key, value] of Object.entries(now)) if (all || was[key] !== value) entries.push({ map, key, value });
    for (const key of Object.keys(was)) if (!Object.hasOwn(now, key)) entries.push({ map, key });
  }
  return entries;
}

/** The plan revision a stored state was committed with (undefined for a state that carries its plan itself). */
export function storedPlanRevision(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const revision = (value as Record<string, unknown>)['planRevision'];
  return typeof revision === 'number' ? revision : undefined;
}

/**
 * Reads back a persisted state (the parsed JSON) and the plan stored beside it; a state written before plans were
 * stored apart carries its own plan, which wins. Checks the schema and the fields the machine relies on.
 * @throws {RunTransitionError} `KUP-RUN-003` when it is not a run state of this schema, or the plan beside it is not
 *   the revision it was committed with.
 */
export function reviveRunState(value: unknown, storedPlan?: unknown): RunState {
  const fail = (why: string): never => {
    throw new RunTransitionError(RunErrorCode.invalidState, `persisted run state ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('is not an object');
  const v = value as Record<string, unknown>;
  if (v['schema'] !== 1) return fail(`has schema ${JSON.stringify(v['schema'])}, expected 1`);
  if (typeof v['runId'] !== 'string') return fail('has no runId');
  const plan = v['plan'] ?? storedPlan;
  if (typeof plan !== 'object' || plan === null || (plan as Record<string, unknown>)['schema'] !== 1) {
    return fail('has no plan of schema 1');
  }
  const revision = storedPlanRevision(v);
  if (v['plan'] === undefined && revision !== (plan as Record<string, unknown>)['revision']) {
    return fail(`was committed with plan revision ${revision}, but the stored plan is revision ${String((plan as Record<string, unknown>)['revision'])}`);
  }
  const status = v['status'];
  if (
    typeof status !== 'object' ||
    status === null ||
    typeof (status as Record<string, unknown>)['phase'] !== 'string'
  ) {
    return fail('has no status');
  }
  for (const field of ['units', 'lineage', 'cursor', 'options']) {
    if (typeof v[field] !== 'object' || v[field] === null) fail(`has no ${field}`);
  }
  const { planRevision: _revision, ...state } = v;
  return { ...state, plan } as unknown as RunState;
}

// ---- lookups -------------------------------------------------------------------------------------------------------

/** Where a plan step sits. */
export interface StepRef {
  readonly step: PlanStep;
  readonly phase: number;
  readonly batch: number;
}

/** Where a batch sits. */
export interface BatchRef {
  readonly batch: PlanBatch;
  readonly phase: number;
}

interface PlanIndex {
  readonly steps: Map<string, StepRef>;
  readonly batches: Map<string, BatchRef>;
  /** Pool phases by their taint unit's key. */
  readonly taints: Map<string, number>;
}

// The plan is immutable data; indexing it once per plan object keeps each transition O(1) in the plan's size.
const planIndexes = new WeakMap<RolloutPlan, PlanIndex>();
const rollbackIndexes = new WeakMap<RollbackState, Map<string, RollbackStep>>();

/** The plan's steps and batches by key. */
export function indexPlan(plan: RolloutPlan): PlanIndex {
  let index = planIndexes.get(plan);
  if (index) return index;
  index = { steps: new Map(), batches: new Map(), taints: new Map() };
  plan.phases.forEach((phase, p) => {
    if (phase.kind === 'pool') index.taints.set(taintKey(phase), p);
    phase.batches.forEach((batch, b) => {
      index.batches.set(batch.key, { batch, phase: p });
      for (const step of batch.steps) index.steps.set(step.key, { step, phase: p, batch: b });
    });
  });
  planIndexes.set(plan, index);
  return index;
}

/** The rollback's steps by key. */
function indexRollback(rollback: RollbackState): Map<string, RollbackStep> {
  let index = rollbackIndexes.get(rollback);
  if (index) return index;
  index = new Map();
  for (const batch of rollback.batches) for (const step of batch.steps) index.set(step.key, step);
  rollbackIndexes.set(rollback, index);
  return index;
}

/** What a unit's key names. */
export type UnitSpec =
  | { readonly kind: 'precheck'; readonly actions: readonly ActionType[] }
  | { readonly kind: 'step'; readonly ref: StepRef; readonly actions: readonly ActionType[] }
  | { readonly kind: 'gate'; readonly ref: BatchRef; readonly actions: readonly ActionType[] }
  /** The taint of a pool move's nodes at the start of its turn (`phase`), or its removal from every node (`untaint`). */
  | { readonly kind: 'taint'; readonly phase: number; readonly actions: readonly ActionType[] }
  | { readonly kind: 'untaint'; readonly actions: readonly ActionType[] }
  | { readonly kind: 'rollback'; readonly step: RollbackStep; readonly actions: readonly ActionType[] };

/** The unit a key names, or undefined for an unknown key. */
export function unitSpec(state: RunState, key: string): UnitSpec | undefined {
  if (key === PRECHECK_KEY) return { kind: 'precheck', actions: ['precheck'] };
  const index = indexPlan(state.plan);
  const step = index.steps.get(key);
  if (step) return { kind: 'step', ref: step, actions: stepActions(step.step) };
  const batch = index.batches.get(key);
  if (batch) return { kind: 'gate', ref: batch, actions: batch.batch.gate };
  const tainted = index.taints.get(key);
  if (tainted !== undefined) return { kind: 'taint', phase: tainted, actions: TAINT_ACTIONS };
  if (key === UNTAINT_KEY) return { kind: 'untaint', actions: TAINT_ACTIONS };
  if (state.rollback) {
    const r = indexRollback(state.rollback).get(key);
    if (r) return { kind: 'rollback', step: r, actions: r.actions.map((a) => a.type) };
  }
  return undefined;
}

const TAINT_ACTIONS: readonly ActionType[] = Object.freeze(['taint-nodes']);

/** The actions a unit runs: the plan's, or its own after a quarantine. */
export function unitActions(spec: UnitSpec, unit: UnitProgress | undefined): readonly ActionType[] {
  return unit?.script ?? spec.actions;
}

/** The node a slot names now (its replacement, once it has been replaced during the run). */
export function currentNode(state: RunState, slot: string): string {
  return state.lineage[slot] ?? slot;
}

/** The stage a finished action leaves a step at. */
export function stageAfter(action: ActionType): UnitStage {
  switch (action) {
    case 'cordon':
      return 'cordoned';
    case 'drain':
      return 'drained';
    case 'replace-node':
      return 'replaced';
    case 'upgrade-node-in-place':
    case 'upgrade-cp-node':
      return 'upgraded';
    case 'wait-node-ready':
    case 'check-api-health':
      return 'ready';
    case 'uncordon':
      return 'uncordoned';
    case 'delete-old-node':
      return 'old-node-deleted';
    case 'rollback-node':
      return 'rolled-back';
    default:
      return 'running';
  }
}

/** Statuses after which the run does nothing more on its own (a rollback may still be asked of some: see rollback). */
export const TERMINAL_PHASES: readonly RunPhase[] = Object.freeze(['succeeded', 'cancelled', 'failed', 'rolled-back']);

/** Whether the run has ended. */
export function isTerminal(state: RunState): boolean {
  return TERMINAL_PHASES.includes(state.status.phase);
}

/** The statuses of a forward run past its prechecks. */
export type ForwardPhase = Exclude<ActivePhase, 'prechecking' | 'rolling-back'>;

/** The status phase of a plan phase's kind (`validating` past the last phase). */
export function activePhaseOf(phase: PlanPhase | undefined): ForwardPhase {
  switch (phase?.kind) {
    case 'snapshot':
      return 'snapshotting';
    case 'control-plane':
      return 'upgrading-control-plane';
    case 'pool':
      return 'upgrading-pools';
    case 'validation':
    case undefined:
      return 'validating';
  }
}

/** Units with an action asked of the executor and not reported back. */
export function inFlightUnits(state: RunState): UnitProgress[] {
  return Object.values(state.units).filter((u) => u.inFlight !== null);
}

/**
 * The idempotency key of an action of a unit: `<key>/<action>`; `~<n>` when the action is the unit's n-th of its type
 * (a step that makes a second replacement after discarding the first: the provider must make a new machine, not
 * answer with the first one); `#<generation>` from the second generation.
 */
export function idempotencyKey(key: string, action: ActionType, generation: number, occurrence = 1): string {
  return `${key}/${action}${occurrence > 1 ? `~${occurrence}` : ''}${generation > 1 ? `#${generation}` : ''}`;
}
