/**
 * A run and its plan in words, as `kup status`, `kup upgrade --wait` and `kup plan` print them: one home, so that the
 * CLI run locally and the service (whose answers the CLI's `--server` mode prints) say the same thing. Pure: the time
 * is an argument.
 */
import { formatDuration } from '../clock/duration.ts';
import { progressOf } from './machine/progress.ts';
import { isTerminal } from './machine/state.ts';
import type { RunState } from './machine/types.ts';
import { planDirection, planTitle } from './plan-direction.ts';
import type { RolloutPlan, WorkerStrategyCost } from './plan-types.ts';

/** What `kup upgrade --wait` prints when its run paused: the cause, where it is, and the commands that go on. */
export function pausedNotice(state: RunState): string {
  const status = state.status;
  if (status.phase !== 'paused') return '';
  const cause = status.cause;
  const where = cause
    ? [
        cause.node ? `node ${cause.node}` : '',
        cause.pod ? `pod ${cause.pod}` : '',
        cause.pdb ? `PodDisruptionBudget ${cause.pdb}` : '',
      ]
        .filter(Boolean)
        .join(', ')
    : '';
  return (
    `run ${state.runId} paused (${status.reason}): ${status.message}${where ? `\n  at: ${where}` : ''}\n` +
    `  when the cause is fixed: kup resume ${state.runId}   (or: kup cancel ${state.runId}, kup rollback ${state.runId})\n` +
    (replacementNeverReady(state)
      ? `  to replace the node that never became Ready with a new one: kup resume ${state.runId} --replace-node\n`
      : '')
  );
}

/** Whether a failed step waits for a replacement node that never became Ready (what `resume --replace-node` is for). */
function replacementNeverReady(state: RunState): boolean {
  return Object.values(state.units).some((u) => u.failure?.action === 'wait-node-ready' && u.newNode !== undefined);
}

/** One line of progress: phase, control-plane node i of n, nodes upgraded per pool, ETA. */
export function progressLine(state: RunState, now: number): string {
  const p = progressOf(state, state.plan, now);
  const status = state.status;
  // The machine's phases are named for upgrades (`upgrading-pools`); a downgrade's progress says what it does.
  const phase =
    planDirection(state.plan) === 'downgrade' ? status.phase.replace(/^upgrading-/, 'downgrading-') : status.phase;
  const parts = [status.phase === 'paused' ? `paused (${status.reason}): ${status.message}` : phase];
  if (p.controlPlane.n > 0) parts.push(`control plane ${p.controlPlane.i}/${p.controlPlane.n}`);
  for (const pool of p.pools)
    parts.push(
      `${pool.name} ${pool.upgraded}/${pool.total}${pool.batches > 0 ? ` batch ${pool.currentBatch}/${pool.batches}` : ''}`,
    );
  if (!isTerminal(state) && p.eta.remainingMs > 0) parts.push(`ETA ${formatDuration(p.eta.remainingMs)}`);
  if (status.phase === 'failed') parts.push(status.reason);
  if ((status.phase === 'cancelled' || status.phase === 'cancelling') && status.leftBehind !== undefined) {
    parts.push(`left behind: ${status.leftBehind.join('; ')}`);
  }
  return parts.join(' | ');
}

/** A bar of the nodes moved so far, for a terminal. */
export function progressBar(state: RunState, now: number): string {
  const p = progressOf(state, state.plan, now);
  const total = p.controlPlane.n + p.pools.reduce((n, x) => n + x.total, 0);
  const done = p.controlPlane.i + p.pools.reduce((n, x) => n + x.upgraded, 0);
  const width = 24;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** The plan for people: path, snapshot, control plane in order, pools' batches, duration, point of no return. */
export function formatPlan(plan: RolloutPlan): string {
  const measured =
    plan.measured.length > 0
      ? `from ${plan.measured.length} step times measured on this cluster`
      : 'from default step times: no run measured here yet';
  const lines = [
    `Plan for ${plan.cluster}: ${plan.from} -> ${plan.to} (${planTitle(plan)}), expected ${formatDuration(plan.expectedDurationMs)} (${measured})`,
  ];
  for (const phase of plan.phases) {
    switch (phase.kind) {
      case 'snapshot':
        lines.push('  1. etcd snapshot (rollback restores it)');
        break;
      case 'control-plane':
        lines.push(
          `  control plane ${phase.from} -> ${phase.to}: ${phase.batches.flatMap((b) => b.steps.map((s) => ('node' in s ? `${s.node}${s.kind === 'control-plane-node' && s.drain === true ? ' (drained)' : ''}` : s.key))).join(' -> ')} (one at a time; etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet; API health checked between nodes; a node that runs pods beyond static and DaemonSet ones is cordoned and drained first)`,
        );
        break;
      case 'pool':
        lines.push(
          `  pool ${phase.pool} -> ${phase.to.version}${phase.to.image ? ` image ${phase.to.image}` : ''} (${phase.strategy}, ${phase.batchPolicy}): ${phase.batches.map((b) => `[${b.steps.map((s) => ('node' in s ? s.node : s.key)).join(' ')}]`).join(' ')}`,
        );
        break;
      default:
        lines.push('  post-upgrade validation');
    }
  }
  if (plan.workerStrategies)
    lines.push(`  worker moves (--worker-strategy): ${plan.workerStrategies.map(formatWorkerCost).join('; ')}`);
  lines.push(
    plan.pointOfNoReturn
      ? `  point of no return: ${plan.pointOfNoReturn.message}`
      : '  point of no return: none (a rollback moves nodes back)',
  );
  for (const note of plan.notes) lines.push(`  note: ${note}`);
  return lines.join('\n') + '\n';
}

/** `minimal: 6 node replacements (this plan)`: what a worker strategy costs in node moves. */
function formatWorkerCost(cost: WorkerStrategyCost): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const moves = [
    cost.replacements > 0 || cost.inPlaceUpgrades === 0 ? plural(cost.replacements, 'node replacement') : '',
    cost.inPlaceUpgrades > 0 ? plural(cost.inPlaceUpgrades, 'in-place node upgrade') : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${cost.workerStrategy} ${moves}${cost.chosen ? ' (this plan)' : ''}`;
}
