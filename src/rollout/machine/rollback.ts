/**
 * Rollback: whether a run can be rolled back now, and the steps that bring the cluster back to what it ran before.
 *
 * - Before the point of no return (`nodes` mode): every worker node slot that changed goes back to the version and
 *   image it had, by the pool's strategy (a replacement at the old version, or an in-place downgrade), pool batches in
 *   reverse order; then control-plane nodes moved by a one-patch hop go back, last first.
 * - After it (`snapshot` mode): the worker nodes go back first, then the snapshot is restored, which brings back the
 *   cluster's state and the control plane's versions together (Rancher only restores state; kup restores both, as
 *   seed 003 asks). Nodes whose old kubelet would be out of the skew policy against the upgraded control plane go
 *   back after the restore instead. Without a snapshot this is refused.
 * - A node that only got cordoned (or quarantined) is uncordoned (and unlabelled); a replacement that was created but
 *   whose old node still exists is drained and deleted, keeping the old node. A control-plane node a drained step
 *   left cordoned is uncordoned (after the snapshot's restore, in `snapshot` mode).
 * A rollback ends with the post-upgrade checks, run against the restored cluster.
 *
 * @module
 */
import type { ActionType, NodeTarget, WorkerNodeStep, ControlPlaneNodeStep } from '../plan-types.ts';
import { planSteps, stepActions } from '../plan-steps.ts';
import type { KubeVersion } from '../../versions/index.ts';
import { compareVersions, parseKubeletVersion } from '../../versions/index.ts';
import type { RollbackRefusal } from './errors.ts';
import type { RollbackAction, RollbackBatch, RollbackMode, RollbackStep, RunState, UnitProgress } from './types.ts';
import { currentNode, indexPlan, inFlightUnits } from './state.ts';

/** Whether a rollback is possible now, and if so how. */
export type RollbackAvailability =
  | { readonly ok: true; readonly mode: RollbackMode; readonly batches: readonly RollbackBatch[] }
  | { readonly ok: false; readonly refusal: RollbackRefusal; readonly reason: string };

/** Key of the rollback's snapshot restore step. */
export const RESTORE_KEY = 'rollback/restore-snapshot';
/** Key of the rollback's final checks. */
export const ROLLBACK_POSTCHECK_KEY = 'rollback/postcheck';

/**
 * Whether the run can be rolled back now, with the steps it would take or the reason it cannot. Pure; the
 * `rollback-requested` event uses it and refuses with its reason.
 */
export function rollbackAvailability(state: RunState): RollbackAvailability {
  const phase = state.status.phase;
  if (phase === 'rolling-back' || phase === 'rolled-back') {
    return { ok: false, refusal: 'already-rolled-back', reason: `the run is ${phase} already` };
  }
  if (phase === 'pending' || phase === 'prechecking') {
    return { ok: false, refusal: 'nothing-changed', reason: `the run is ${phase}: nothing has changed yet` };
  }
  if (phase !== 'paused' && phase !== 'failed' && phase !== 'cancelled' && phase !== 'succeeded') {
    return {
      ok: false,
      refusal: 'not-stopped',
      reason: `the run is ${phase}: pause it (or cancel it) and let the started nodes finish before rolling back`,
    };
  }
  // A soak in flight is waiting, not acting: a rollback (or a cancel) ends it rather than waiting it out.
  const flying = inFlightUnits(state).filter((u) => u.inFlight?.action !== 'soak');
  if (flying.length > 0) {
    const keys = flying.map((u) => u.key);
    return {
      ok: false,
      refusal: 'in-flight',
      reason: `${keys.length} step(s) still running (${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', ...' : ''}): wait until they finish`,
    };
  }
  const mode: RollbackMode = state.pointOfNoReturnPassedAt !== null ? 'snapshot' : 'nodes';
  if (mode === 'snapshot' && state.snapshot === null) {
    const ponr = state.plan.pointOfNoReturn;
    const where = ponr ? `${ponr.key} (${ponr.node}: ${ponr.from} -> ${ponr.to})` : 'a control-plane node';
    return {
      ok: false,
      refusal: 'no-snapshot',
      reason:
        `the control plane passed the point of no return at ${where}, and only restoring a snapshot can bring it ` +
        `back, but this run has no snapshot (${state.plan.phases.some((p) => p.kind === 'snapshot') ? 'it was not taken' : 'snapshots were turned off'})`,
    };
  }
  const batches = rollbackBatches(state, mode);
  if (batches.length === 0) {
    return { ok: false, refusal: 'nothing-changed', reason: 'no node was changed by this run' };
  }
  return { ok: true, mode, batches };
}

interface SlotHistory {
  readonly slot: string;
  readonly units: { readonly step: WorkerNodeStep; readonly unit: UnitProgress }[];
}

function rollbackBatches(state: RunState, mode: RollbackMode): RollbackBatch[] {
  const { plan } = state;
  const estimates = plan.estimates;
  const estimate = (actions: readonly RollbackAction[]): number => actions.reduce((s, a) => s + estimates[a.type], 0);
  const index = indexPlan(plan);

  // Every started worker step, per slot, in plan order; control-plane steps per node.
  const slots = new Map<string, SlotHistory>();
  const cps = new Map<string, { step: ControlPlaneNodeStep; unit: UnitProgress }[]>();
  for (const step of planSteps(plan)) {
    const unit = state.units[step.key];
    if (!unit || unit.stage === 'skipped') continue;
    if (step.kind === 'worker-node') {
      const id = `${step.pool}/${step.node}`;
      let h = slots.get(id);
      if (!h) slots.set(id, (h = { slot: step.node, units: [] }));
      h.units.push({ step, unit });
    } else if (step.kind === 'control-plane-node') {
      let list = cps.get(step.node);
      if (!list) cps.set(step.node, (list = []));
      list.push({ step, unit });
    }
  }

  // The control plane's version now: the highest hop any node was asked to move to.
  let cpNow = parse(plan.from);
  for (const list of cps.values()) {
    for (const { step, unit } of list) {
      const v = parse(step.to);
      if (unit.attempted.includes('upgrade-cp-node') && compareVersions(v, cpNow) > 0) cpNow = v;
    }
  }

  // Worker steps, grouped by the forward batch of the slot's last started step.
  const before: Map<string, RollbackStep[]> = new Map();
  const after: Map<string, RollbackStep[]> = new Map();
  const batchOrder: string[] = [];
  // Blue-green slots whose blue node still stands: blue uncordoned first (all of them), then green drained back.
  const uncordonBlue: RollbackStep[] = [];
  const drainGreen: RollbackStep[] = [];
  let blueGreenAt: string | undefined;
  for (const h of slots.values()) {
    const first = h.units[0];
    const last = h.units[h.units.length - 1];
    if (!first || !last) continue;
    const original = first.step.from;
    const bg = last.step.blueGreen !== undefined ? blueGreenUndo(state, h, original) : undefined;
    if (bg !== undefined) {
      const ref = index.steps.get(last.step.key);
      blueGreenAt ??= ref ? plan.phases[ref.phase]?.key : undefined;
      const base = { kind: 'worker-node' as const, node: h.slot, pool: last.step.pool, strategy: 'replace' as const, target: original };
      if (bg.uncordon.length > 0) {
        uncordonBlue.push({ ...base, key: `rollback/pool/${last.step.pool}/${h.slot}/blue`, actions: bg.uncordon, estimateMs: estimate(bg.uncordon) });
      }
      if (bg.rest.length > 0) {
        drainGreen.push({ ...base, key: `rollback/pool/${last.step.pool}/${h.slot}`, actions: bg.rest, estimateMs: estimate(bg.rest) });
      }
      continue;
    }
    const actions = slotActions(state, last.step, last.unit, original);
    if (actions.length === 0) continue;
    const ref = index.steps.get(last.step.key);
    const batchKey = ref ? (plan.phases[ref.phase]?.batches[ref.batch]?.key ?? last.step.key) : last.step.key;
    if (!batchOrder.includes(batchKey)) batchOrder.push(batchKey);
    const step: RollbackStep = {
      key: `rollback/pool/${last.step.pool}/${h.slot}`,
      kind: 'worker-node',
      node: h.slot,
      pool: last.step.pool,
      strategy: last.step.strategy,
      target: original,
      actions,
      estimateMs: estimate(actions),
    };
    // After a restore, an old kubelet must not be newer than the restored control plane; before it, it must be
    // within three minors of the upgraded one.
    const late = mode === 'snapshot' && parse(original.version).minor < cpNow.minor - 3;
    const into = late ? after : before;
    let list = into.get(batchKey);
    if (!list) into.set(batchKey, (list = []));
    list.push(step);
  }
  const reversed = [...batchOrder].reverse();
  const batches: RollbackBatch[] = [];
  const push = (steps: RollbackStep[] | undefined): void => {
    if (!steps || steps.length === 0) return;
    batches.push({ key: `rollback/batch-${batches.length + 1}`, steps });
  };
  // A blue-green move is the run's last pool move when its blue nodes still stand (nothing starts after it), so its
  // undoing comes first.
  if (blueGreenAt !== undefined) {
    push(uncordonBlue);
    push(drainGreen);
  }
  for (const key of reversed) push(before.get(key));

  // Control-plane nodes, last upgraded first: moved back by an undoable (one-patch) hop in `nodes` mode (the snapshot
  // brings them back otherwise), and uncordoned where a drained step left one cordoned.
  const order = [...plan.controlPlaneNodes].reverse();
  const cpStep = (node: string, moveBack: boolean): RollbackStep | undefined => {
    const list = cps.get(node);
    const first = list?.[0];
    if (!list || !first) return undefined;
    const moved = moveBack && list.some((e) => e.unit.attempted.includes('upgrade-cp-node'));
    const cordoned = list.some((e) => leftCordoned(e.step, e.unit));
    if (!moved && !cordoned) return undefined;
    const actions: RollbackAction[] = [
      ...(moved ? [{ type: 'upgrade-cp-node' as const, node }, { type: 'check-api-health' as const, node }] : []),
      ...(cordoned ? [{ type: 'uncordon' as const, node }] : []),
    ];
    return {
      key: `rollback/cp/${node}`,
      kind: 'control-plane-node',
      node,
      target: { version: first.step.from },
      components: first.step.components.map((c) => ({
        component: c.component,
        ...(c.to !== undefined ? { from: c.to } : {}),
        ...(c.from !== undefined ? { to: c.from } : {}),
      })),
      actions,
      estimateMs: estimate(actions),
    };
  };
  if (mode === 'snapshot') {
    push([
      {
        key: RESTORE_KEY,
        kind: 'restore-snapshot',
        actions: [{ type: 'restore-snapshot' }],
        estimateMs: estimates['restore-snapshot'],
      },
    ]);
    for (const key of reversed) push(after.get(key));
  }
  for (const node of order) {
    const step = cpStep(node, mode === 'nodes');
    if (step) push([step]);
  }
  if (batches.length === 0) return [];
  push([
    {
      key: ROLLBACK_POSTCHECK_KEY,
      kind: 'postcheck',
      actions: [{ type: 'postcheck' }],
      estimateMs: estimates.postcheck,
    },
  ]);
  return batches;
}

/** The rollback actions of one slot, from the state its last started step left it in. */
function slotActions(
  state: RunState,
  step: WorkerNodeStep,
  unit: UnitProgress,
  original: NodeTarget,
): RollbackAction[] {
  const script = unit.script ?? stepActions(step);
  const done = new Set<ActionType>(script.slice(0, unit.done));
  const attempted = new Set<ActionType>(unit.attempted);
  const n = unit.node ?? currentNode(state, step.node);
  // A blue-green slot's new node is its green node, which the slot's `green` step made.
  const m = step.blueGreen !== undefined ? state.units[step.blueGreen.green]?.newNode : unit.newNode;
  const quarantined = unit.stage === 'quarantined';

  let keep: string;
  let runs: NodeTarget;
  if (step.strategy === 'in-place') {
    keep = n;
    // An in-place upgrade that was tried may have taken effect: treat the node as moved (moving back is idempotent).
    runs = attempted.has('upgrade-node-in-place') ? step.to : step.from;
  } else if (m !== undefined && attempted.has('delete-old-node')) {
    keep = m;
    runs = step.to;
  } else {
    keep = n;
    runs = step.from;
  }
  const needsMove = differs(runs, original);
  const actions: RollbackAction[] = [];
  const nStays = keep === n && (!needsMove || step.strategy === 'in-place');
  if (keep === n && !needsMove && attempted.has('cordon') && !done.has('uncordon')) {
    actions.push({ type: 'uncordon', node: n });
  }
  if (quarantined && nStays) {
    actions.push({ type: 'label-node', node: n, labels: { [state.options.quarantineLabel]: null } });
  }
  if (needsMove) {
    if (step.strategy === 'in-place') {
      actions.push(
        { type: 'cordon', node: keep },
        { type: 'drain', node: keep },
        { type: 'rollback-node', node: keep },
        { type: 'wait-node-ready', node: keep },
        { type: 'uncordon', node: keep },
      );
    } else if (step.surge || step.strategy === 'blue-green') {
      actions.push(
        { type: 'rollback-node', node: keep },
        { type: 'wait-node-ready' },
        { type: 'cordon', node: keep },
        { type: 'drain', node: keep },
        { type: 'delete-old-node', node: keep },
      );
    } else {
      actions.push(
        { type: 'cordon', node: keep },
        { type: 'drain', node: keep },
        { type: 'rollback-node', node: keep },
        { type: 'wait-node-ready' },
        { type: 'delete-old-node', node: keep },
      );
    }
  }
  if (step.strategy === 'replace' && m !== undefined && keep === n) {
    actions.push({ type: 'cordon', node: m }, { type: 'drain', node: m }, { type: 'delete-old-node', node: m });
  }
  return actions;
}

/**
 * The rollback of a slot whose last started step is of a blue-green move. While its blue node stands (its `delete`
 * step has not been tried), the blue node is uncordoned (`uncordon`) and the green node cordoned, drained and deleted
 * (`rest`): no node is made, no snapshot restored. Once the blue node's delete was tried, undefined: the slot runs
 * its green node, which goes back as a replaced node does.
 */
function blueGreenUndo(
  state: RunState,
  h: SlotHistory,
  original: NodeTarget,
): { uncordon: RollbackAction[]; rest: RollbackAction[] } | undefined {
  const last = h.units[h.units.length - 1];
  const bg = last?.step.blueGreen;
  if (!last || bg === undefined) return undefined;
  if (bg.stage === 'delete' && last.unit.attempted.includes('delete-old-node')) return undefined;
  const greenUnit = state.units[bg.green];
  const blue = greenUnit?.node ?? currentNode(state, last.step.node);
  const green = greenUnit?.newNode;
  const moveUnits = h.units.filter((u) => u.step.blueGreen?.green === bg.green);
  const cordoned = moveUnits.some((u) => u.unit.attempted.includes('cordon'));
  const uncordon: RollbackAction[] = cordoned ? [{ type: 'uncordon', node: blue }] : [];
  const rest: RollbackAction[] =
    green !== undefined
      ? [
          { type: 'cordon', node: green },
          { type: 'drain', node: green },
          { type: 'delete-old-node', node: green },
        ]
      : [];
  // A blue node that an earlier move of the run made goes back as that move's node does.
  const earlier = h.units.filter((u) => u.step.blueGreen?.green !== bg.green).at(-1);
  if (earlier !== undefined && differs(last.step.from, original)) {
    rest.push(...slotActions(state, earlier.step, earlier.unit, original).filter((a) => a.type !== 'uncordon' || a.node !== blue));
  }
  return { uncordon, rest };
}

/** Whether a control-plane step's cordon took effect (or may have) and no uncordon of it followed. */
function leftCordoned(step: ControlPlaneNodeStep, unit: UnitProgress): boolean {
  const done = new Set<ActionType>(stepActions(step).slice(0, unit.done));
  return unit.attempted.includes('cordon') && !done.has('uncordon');
}

function differs(a: NodeTarget, b: NodeTarget): boolean {
  if (compareVersions(parse(a.version), parse(b.version)) !== 0) return true;
  return a.image !== undefined && b.image !== undefined && a.image !== b.image;
}

function parse(text: string): KubeVersion {
  return parseKubeletVersion(text).version;
}
