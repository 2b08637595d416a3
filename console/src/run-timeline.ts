/**
 * A run's timeline, read off its events: for each node, when each action (cordon, drain, replace, wait Ready...)
 * started and ended. Pure, so the Gantt and its test share it; the chart only draws it.
 *
 * @module
 */
import type { NodeRunState, RunEvent } from './api/types.ts';

/** One bar of the Gantt. */
export interface TimelineBar {
  readonly node: string;
  readonly action: string;
  readonly start: number;
  /** null while the action runs. */
  readonly end: number | null;
  readonly outcome: 'running' | 'succeeded' | 'failed';
}

/**
 * The bars of a run's events, in the order they started. The engine logs an action when it finishes (`succeeded`,
 * `failed`) and a step when it starts, so an action's bar runs from the node's previous event (the step's start or the
 * action before) to its own end; an explicit `started` of the action, when there is one, wins.
 */
export function timeline(events: readonly RunEvent[]): readonly TimelineBar[] {
  const open = new Map<string, { node: string; action: string; start: number }>();
  const lastAt = new Map<string, number>();
  const bars: TimelineBar[] = [];
  for (const e of events) {
    if (!e.node) continue;
    const action = e.data?.action;
    if (typeof action === 'string') {
      const id = `${e.node}\u0000${action}`;
      if (e.outcome === 'started' || e.outcome === 'retrying') {
        if (!open.has(id)) open.set(id, { node: e.node, action, start: e.at });
      } else if (e.outcome === 'succeeded' || e.outcome === 'failed' || e.outcome === 'forced') {
        const began = open.get(id);
        open.delete(id);
        bars.push({
          node: e.node,
          action,
          start: began?.start ?? lastAt.get(e.node) ?? e.at,
          end: e.at,
          outcome: e.outcome === 'failed' ? 'failed' : 'succeeded',
        });
      }
    }
    lastAt.set(e.node, e.at);
  }
  for (const o of open.values()) bars.push({ ...o, end: null, outcome: 'running' });
  return bars.sort((a, b) => a.start - b.start);
}

const ACTION_STATE: Readonly<Record<string, NodeRunState>> = {
  cordon: 'cordoned',
  drain: 'draining',
  'replace-node': 'replacing',
  'upgrade-node-in-place': 'replacing',
  'upgrade-cp-node': 'replacing',
  'wait-node-ready': 'replacing',
  'rollback-node': 'replacing',
  uncordon: 'ready',
};

/**
 * Where each node stands (Rancher's Active -> Cordoned -> Active): the action in flight names the state; a node
 * whose last action finished is `ready` once it was uncordoned or replaced, else the state of that action.
 */
export function nodeStates(bars: readonly TimelineBar[]): ReadonlyMap<string, NodeRunState> {
  const states = new Map<string, NodeRunState>();
  for (const bar of bars) {
    if (bar.outcome === 'failed') states.set(bar.node, 'failed');
    else if (bar.outcome === 'running') states.set(bar.node, ACTION_STATE[bar.action] ?? 'cordoned');
    else if (bar.action === 'uncordon' || bar.action === 'delete-old-node') states.set(bar.node, 'done');
    else if (states.get(bar.node) !== 'failed')
      states.set(
        bar.node,
        ACTION_STATE[bar.action] === 'replacing' ? 'ready' : (ACTION_STATE[bar.action] ?? 'cordoned'),
      );
  }
  return states;
}

/** The Gantt's height for `nodes` rows: fixed per row, so nothing below it moves as bars arrive. */
export function ganttHeight(nodes: number): number {
  return 90 + nodes * 26;
}
