/** `kubectl get pods`: upstream printPod, whose STATUS reason logic kubectl users read as the pod's state. */
import { AGE_COLUMN, column, DOCS, NAME_COLUMN } from './columns.ts';
import { bool, int, isDeleting, nameOf, obj, objs, optObj, str } from './fields.ts';
import { ageSince, parseTime, sinceMs } from './time.ts';
import type { Printer, TableRowCondition, WireObject } from './types.ts';

/** The reason the node lifecycle controller sets on pods of an unreachable node (pkg/util/node). */
const NODE_UNREACHABLE_POD_REASON = 'NodeLost';

const SUCCEEDED_CONDITIONS: TableRowCondition[] = [
  { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
];
const FAILED_CONDITIONS: TableRowCondition[] = [
  { type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' },
];

/** Pods: NAME READY STATUS RESTARTS AGE, and wide IP NODE NOMINATED-NODE READINESS-GATES. */
export const podPrinter: Printer = {
  columnDefinitions: [
    NAME_COLUMN,
    column('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'string', 'The aggregate status of the containers in this pod.'),
    column(
      'Restarts',
      'string',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    AGE_COLUMN,
    column('IP', 'string', DOCS.podStatus.podIP, { priority: 1 }),
    column('Node', 'string', DOCS.podSpec.nodeName, { priority: 1 }),
    column('Nominated Node', 'string', DOCS.podStatus.nominatedNodeName, { priority: 1 }),
    column('Readiness Gates', 'string', DOCS.podSpec.readinessGates, { priority: 1 }),
  ],
  printRow(pod, { now }) {
    const spec = obj(pod.spec);
    const status = obj(pod.status);
    const summary = summarizePod(pod);
    const restarts =
      summary.restarts !== 0 && summary.lastRestart !== undefined
        ? `${summary.restarts} (${sinceMs(summary.lastRestart, now)} ago)`
        : String(summary.restarts);
    const phase = str(status.phase);
    return {
      cells: [
        nameOf(pod),
        `${summary.ready}/${summary.total}`,
        summary.reason,
        restarts,
        ageSince(obj(pod.metadata).creationTimestamp, now),
        podIP(status) || '<none>',
        str(spec.nodeName) || '<none>',
        str(status.nominatedNodeName) || '<none>',
        readinessGates(spec, status),
      ],
      ...(phase === 'Succeeded' ? { conditions: SUCCEEDED_CONDITIONS } : {}),
      ...(phase === 'Failed' ? { conditions: FAILED_CONDITIONS } : {}),
    };
  },
};

interface PodSummary {
  ready: number;
  total: number;
  reason: string;
  restarts: number;
  /** When the last restarted container last terminated (ms), if known. */
  lastRestart: number | undefined;
}

/** A sidecar: an init container with restartPolicy Always (podutil.IsRestartableInitContainer). */
function isRestartable(container: WireObject | undefined): boolean {
  return container?.restartPolicy === 'Always';
}

function later(current: number | undefined, candidate: number | undefined): number | undefined {
  return candidate !== undefined && (current === undefined || current < candidate) ? candidate : current;
}

function lastTerminatedAt(containerStatus: WireObject): number | undefined {
  const terminated = optObj(obj(containerStatus.lastState).terminated);
  return terminated ? parseTime(terminated.finishedAt) : undefined;
}

function exitReason(prefix: string, terminated: WireObject): string {
  const reason = str(terminated.reason);
  if (reason !== '') return prefix + reason;
  const signal = int(terminated.signal);
  return signal !== 0 ? `${prefix}Signal:${signal}` : `${prefix}ExitCode:${int(terminated.exitCode)}`;
}

/** isPodInitializedConditionTrue: the first Initialized condition decides. */
function isInitialized(status: WireObject): boolean {
  const condition = objs(status.conditions).find((c) => c.type === 'Initialized');
  return condition?.status === 'True';
}

/** hasPodReadyCondition: any Ready=True condition. */
function hasReadyCondition(status: WireObject): boolean {
  return objs(status.conditions).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** READY, STATUS and RESTARTS, following upstream printPod line by line. */
function summarizePod(pod: WireObject): PodSummary {
  const spec = obj(pod.spec);
  const status = obj(pod.status);
  const phase = str(status.phase);
  const initContainers = objs(spec.initContainers);
  const initByName = new Map(initContainers.map((c) => [str(c.name), c]));

  let restarts = 0;
  let restartableInitRestarts = 0;
  let total = objs(spec.containers).length;
  let ready = 0;
  let lastRestart: number | undefined;
  let lastRestartableInitRestart: number | undefined;

  let reason = str(status.reason) || phase;
  for (const condition of objs(status.conditions)) {
    if (condition.type === 'PodScheduled' && condition.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }
  total += initContainers.filter(isRestartable).length;

  let initializing = false;
  const initStatuses = objs(status.initContainerStatuses);
  for (const [i, cs] of initStatuses.entries()) {
    restarts += int(cs.restartCount);
    lastRestart = later(lastRestart, lastTerminatedAt(cs));
    const restartable = isRestartable(initByName.get(str(cs.name)));
    if (restartable) {
      restartableInitRestarts += int(cs.restartCount);
      lastRestartableInitRestart = later(lastRestartableInitRestart, lastTerminatedAt(cs));
    }
    const state = obj(cs.state);
    const terminated = optObj(state.terminated);
    const waiting = optObj(state.waiting);
    if (terminated && int(terminated.exitCode) === 0) continue;
    if (restartable && bool(cs.started)) {
      if (bool(cs.ready)) ready++;
      continue;
    }
    if (terminated) {
      reason = exitReason('Init:', terminated);
    } else if (waiting && str(waiting.reason) !== '' && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || isInitialized(status)) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses = objs(status.containerStatuses);
    // Backwards, so the first container's state is the one that sticks.
    for (const cs of [...statuses].reverse()) {
      restarts += int(cs.restartCount);
      lastRestart = later(lastRestart, lastTerminatedAt(cs));
      const state = obj(cs.state);
      const terminated = optObj(state.terminated);
      const waiting = optObj(state.waiting);
      if (waiting && str(waiting.reason) !== '') {
        reason = str(waiting.reason);
      } else if (terminated) {
        reason = exitReason('', terminated);
      } else if (bool(cs.ready) && optObj(state.running)) {
        hasRunning = true;
        ready++;
      }
    }
    // A pod whose containers completed but one still runs is Running (or NotReady), not Completed.
    if (reason === 'Completed' && hasRunning) reason = hasReadyCondition(status) ? 'Running' : 'NotReady';
  }

  if (isDeleting(pod) && status.reason === NODE_UNREACHABLE_POD_REASON) {
    reason = 'Unknown';
  } else if (isDeleting(pod) && phase !== 'Succeeded' && phase !== 'Failed') {
    reason = 'Terminating';
  }
  return { ready, total, reason, restarts, lastRestart };
}

/** The first pod IP; v1 clients may have set only status.podIP, which conversion copies into podIPs. */
function podIP(status: WireObject): string {
  const first = objs(status.podIPs)[0];
  return first ? str(first.ip) : str(status.podIP);
}

function readinessGates(spec: WireObject, status: WireObject): string {
  const gates = objs(spec.readinessGates);
  if (gates.length === 0) return '<none>';
  const conditions = objs(status.conditions);
  const trueConditions = gates.filter((gate) => {
    const condition = conditions.find((c) => c.type === gate.conditionType);
    return condition?.status === 'True';
  }).length;
  return `${trueConditions}/${gates.length}`;
}
