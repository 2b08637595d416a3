/**
 * Step-time estimates measured on a cluster's past runs, so `kup plan` can say how long an upgrade will take there
 * rather than quoting defaults. Each action's duration is read from the run's event log: the time from the step's
 * previous event to the action's `succeeded` event (actions of one step run one after another).
 */
import type { RunEvent } from '../persistence/events-repo.ts';
import type { KupStore } from '../persistence/store.ts';
import type { ActionType } from '../rollout/plan-types.ts';
import { ACTION_TYPES } from '../rollout/plan-types.ts';

/** Mean duration per action (ms) over the cluster's last finished runs; actions never seen are left out. */
export async function measuredEstimates(store: KupStore, cluster: string, lastRuns = 5): Promise<Partial<Record<ActionType, number>>> {
  const runs = (await store.runs.list({ cluster, active: false, limit: lastRuns })).filter((r) => r.phase === 'succeeded');
  const samples = new Map<ActionType, number[]>();
  for (const run of runs) {
    const events = await store.events.list(run.id);
    for (const [action, ms] of actionDurations(events)) {
      let list = samples.get(action);
      if (!list) samples.set(action, (list = []));
      list.push(ms);
    }
  }
  const out: Partial<Record<ActionType, number>> = {};
  for (const [action, list] of samples) out[action] = Math.round(list.reduce((a, b) => a + b, 0) / list.length);
  return out;
}

/** (action, duration) pairs of one run's events. */
export function actionDurations(events: readonly RunEvent[]): Array<[ActionType, number]> {
  const lastAt = new Map<string, number>();
  const out: Array<[ActionType, number]> = [];
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    const action = actionOf(e.data);
    const previous = lastAt.get(e.step);
    if (e.outcome === 'succeeded' && action !== undefined && previous !== undefined) out.push([action, Math.max(0, e.at - previous)]);
    lastAt.set(e.step, e.at);
  }
  return out;
}

function actionOf(data: unknown): ActionType | undefined {
  const action = typeof data === 'object' && data !== null ? (data as { action?: unknown }).action : undefined;
  return (ACTION_TYPES as readonly unknown[]).includes(action) ? (action as ActionType) : undefined;
}
