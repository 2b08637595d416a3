/**
 * The node lifecycle controller of kube-controller-manager (`pkg/controller/nodelifecycle`) and its taint-based
 * eviction (`pkg/controller/tainteviction`), as upgrades meet them:
 *
 * - health: a node whose kubelet stopped heartbeating (no Lease renewal nor Ready heartbeat for
 *   `timings.nodeMonitorGrace`) gets its conditions set to Unknown ("Kubelet stopped posting node status."), its pods
 *   are marked not Ready, and a `NodeNotReady` event is recorded;
 * - taints: `node.kubernetes.io/unschedulable:NoSchedule` follows `spec.unschedulable` (kubectl cordon adds no taint),
 *   `not-ready` / `unreachable` (NoSchedule + NoExecute) follow Ready=False / Unknown, and the pressure conditions get
 *   their NoSchedule taints; taints that no longer apply are removed;
 * - eviction: pods on a node with NoExecute taints they do not tolerate are deleted at once; pods that tolerate them
 *   for `tolerationSeconds` are deleted when that runs out (300 s by default, from the DefaultTolerationSeconds
 *   admission plugin; scaled by `nodeMonitorGrace` / 40 s, upstream's grace period).
 *
 * It also holds the wire shapes of taints and tolerations the scheduler shares; matching them is src/k8s/scheduling.ts.
 */
import { rfc3339 } from '../api/registry.ts';
import { StatusError } from '../api/status.ts';
import type { KubeObject } from '../model/wire.ts';
import { controllerOf, isRecord, objectKey } from '../model/wire.ts';
import type { Cancel, SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { toleratesTaint } from '../../k8s/scheduling.ts';
import type { Timings } from '../scenario/types.ts';
import { onKubeletSync } from './kubelet.ts';
import { WorkQueue } from './work-queue.ts';
import type { ObjectStore, StoreEvent } from '../store/object-store.ts';

/** Taint of a cordoned node. */
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
/** Taint of a node whose Ready condition is False. */
const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
/** Taint of a node whose Ready condition is Unknown. */
const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';

/** The taint keys this controller owns: it adds and removes them, and leaves every other taint alone. */
const MANAGED_TAINT_KEYS = new Set([
  TAINT_UNSCHEDULABLE,
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  TAINT_MEMORY_PRESSURE,
  TAINT_DISK_PRESSURE,
  TAINT_PID_PRESSURE,
  TAINT_NETWORK_UNAVAILABLE,
]);

/** Upstream's node-monitor-grace-period, in seconds: the unit toleration seconds are scaled by. */
const UPSTREAM_NODE_MONITOR_GRACE_SECONDS = 40;

/**
 * How often to look for silent nodes in zero-delay mode (`nodeMonitorGrace` 0), where a node is silent as soon as its
 * machine stops: nudges from the infrastructure usually come first, the scan catches machines changed without one.
 */
const ZERO_MODE_MONITOR_MS = 1_000;

/** A node taint as the wire carries it. */
export interface WireTaint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

/** A pod toleration as the wire carries it (operator '' means Equal, key '' with Exists means every key). */
export interface WireToleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** The taints of a node (`spec.taints`), narrowed. */
export function nodeTaints(node: KubeObject): WireTaint[] {
  const raw = node.spec?.['taints'];
  if (!Array.isArray(raw)) return [];
  const out: WireTaint[] = [];
  for (const t of raw as unknown[]) {
    if (!isRecord(t) || typeof t['key'] !== 'string' || typeof t['effect'] !== 'string') continue;
    out.push({
      key: t['key'],
      effect: t['effect'],
      ...(typeof t['value'] === 'string' ? { value: t['value'] } : {}),
      ...(typeof t['timeAdded'] === 'string' ? { timeAdded: t['timeAdded'] } : {}),
    });
  }
  return out;
}

/**
 * The tolerations DaemonSet pods carry (the DaemonSet controller adds them to every pod it creates,
 * `AddOrUpdateDaemonPodTolerations`). Applied here too, so a DaemonSet pod keeps tolerating NotReady and cordoned
 * nodes even when it was created without them.
 */
function daemonSetTolerations(pod: KubeObject): WireToleration[] {
  const tolerations: WireToleration[] = [
    { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute' },
    { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' },
    { key: TAINT_DISK_PRESSURE, operator: 'Exists', effect: 'NoSchedule' },
    { key: TAINT_MEMORY_PRESSURE, operator: 'Exists', effect: 'NoSchedule' },
    { key: TAINT_PID_PRESSURE, operator: 'Exists', effect: 'NoSchedule' },
    { key: TAINT_UNSCHEDULABLE, operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (pod.spec?.['hostNetwork'] === true)
    tolerations.push({ key: TAINT_NETWORK_UNAVAILABLE, operator: 'Exists', effect: 'NoSchedule' });
  return tolerations;
}

/**
 * The tolerations of a pod (`spec.tolerations`), narrowed; DaemonSet pods get the DaemonSet ones first, so they win
 * over the 300 s defaults admission gives a pod created without them.
 */
export function podTolerations(pod: KubeObject): WireToleration[] {
  const raw = pod.spec?.['tolerations'];
  const out: WireToleration[] = controllerOf(pod)?.kind === 'DaemonSet' ? daemonSetTolerations(pod) : [];
  if (Array.isArray(raw)) {
    for (const t of raw as unknown[]) {
      if (!isRecord(t)) continue;
      out.push({
        ...(typeof t['key'] === 'string' ? { key: t['key'] } : {}),
        ...(typeof t['operator'] === 'string' ? { operator: t['operator'] } : {}),
        ...(typeof t['value'] === 'string' ? { value: t['value'] } : {}),
        ...(typeof t['effect'] === 'string' ? { effect: t['effect'] } : {}),
        ...(typeof t['tolerationSeconds'] === 'number' ? { tolerationSeconds: t['tolerationSeconds'] } : {}),
      });
    }
  }
  return out;
}

/** Simulated milliseconds for `seconds` of a real cluster's node timeouts (toleration seconds). */
function scaledNodeSeconds(seconds: number, timings: Timings): number {
  return (seconds * timings.nodeMonitorGrace) / UPSTREAM_NODE_MONITOR_GRACE_SECONDS;
}

/** A node condition, narrowed. */
interface NodeCondition {
  type: string;
  status: string;
  [key: string]: unknown;
}

function nodeConditions(node: KubeObject): NodeCondition[] {
  const raw = node.status?.['conditions'];
  if (!Array.isArray(raw)) return [];
  return (raw as unknown[]).filter(
    (c): c is NodeCondition => isRecord(c) && typeof c['type'] === 'string' && typeof c['status'] === 'string',
  );
}

function conditionOf(node: KubeObject, type: string): NodeCondition | undefined {
  return nodeConditions(node).find((c) => c.type === type);
}

/** `True`, `False`, `Unknown`, or undefined when the node has no Ready condition. */
function readyStatus(node: KubeObject): string | undefined {
  return conditionOf(node, 'Ready')?.status;
}

/** What the controller's decisions depend on: condition statuses and the spec (a heartbeat alone changes neither). */
function conditionStatuses(node: KubeObject): string {
  return nodeConditions(node)
    .map((c) => `${c.type}=${c.status}`)
    .join(',');
}

/** The taints the conditions and spec.unschedulable call for, in upstream's order. */
function wantedTaints(node: KubeObject): { key: string; effect: string }[] {
  const wanted: { key: string; effect: string }[] = [];
  const byCondition: Record<string, Record<string, string>> = {
    Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
    MemoryPressure: { True: TAINT_MEMORY_PRESSURE },
    DiskPressure: { True: TAINT_DISK_PRESSURE },
    PIDPressure: { True: TAINT_PID_PRESSURE },
    NetworkUnavailable: { True: TAINT_NETWORK_UNAVAILABLE },
  };
  for (const c of nodeConditions(node)) {
    const key = byCondition[c.type]?.[c.status];
    if (key) wanted.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.['unschedulable'] === true) wanted.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  // The NoExecute taints that drive eviction (upstream's doNoExecuteTaintingPass).
  const ready = readyStatus(node);
  if (ready === 'False') wanted.push({ key: TAINT_NOT_READY, effect: 'NoExecute' });
  if (ready === 'Unknown') wanted.push({ key: TAINT_UNREACHABLE, effect: 'NoExecute' });
  return wanted;
}

/**
 * The node's taints with the managed ones brought in line: taints the node keeps stay as they are (a NoExecute
 * taint keeps its timeAdded), new ones are appended, other components' taints are never touched.
 */
function reconcileTaints(node: KubeObject, now: number): WireTaint[] | undefined {
  const current = nodeTaints(node);
  const wanted = wantedTaints(node);
  const has = (key: string, effect: string) => wanted.some((w) => w.key === key && w.effect === effect);
  const kept = current.filter((t) => !MANAGED_TAINT_KEYS.has(t.key) || has(t.key, t.effect));
  let changed = kept.length !== current.length;
  for (const w of wanted) {
    if (kept.some((t) => t.key === w.key && t.effect === w.effect)) continue;
    kept.push({ key: w.key, effect: w.effect, ...(w.effect === 'NoExecute' ? { timeAdded: rfc3339(now) } : {}) });
    changed = true;
  }
  return changed ? kept : undefined;
}

/** What the controller remembers of a node between events. */
interface NodeHealth {
  /** When this controller last saw the kubelet heartbeat (a Lease renewal or a new Ready heartbeat), ms. */
  probe: number;
  /** The Ready status last acted upon, to see transitions. */
  observedReady: string | undefined;
  /** The kubelet renewed the node's Lease at least once: the node has a kubelet to lose. */
  sawLease: boolean;
}

/**
 * Starts the node lifecycle controller and its taint-based eviction; returns the stop function.
 *
 * Nodes whose kubelet kube-sim does not simulate (no Machine and never a Lease renewal: a Node created through the
 * API by a test or a user) keep the status they were given: nothing heartbeats for them, and marking them Unknown
 * would only evict the pods a test put there. Their taints still follow their conditions and `spec.unschedulable`.
 */
export function startNodeLifecycleController(runtime: SimRuntime): () => void {
  const controller = new NodeLifecycleController(runtime);
  controller.start();
  return () => controller.stop();
}

/**
 * The controller's state (each node's health as last probed, the NoExecute taints per node, when each pod's
 * tolerated eviction started) and its parts: a node's sync (conditions, taints, pods not ready), the taint manager's
 * evictions, the monitor that finds silent kubelets, and the store's events.
 */
class NodeLifecycleController {
  private readonly store: ObjectStore;
  private readonly registry: SimRuntime['registry'];
  private readonly timings: SimRuntime['timings'];
  private readonly nodeDef = kindDef('Node');
  private readonly podDef = kindDef('Pod');
  private readonly health = new Map<string, NodeHealth>();
  /** NoExecute taints per node, so a pod event is checked without a store read. */
  private readonly noExecute = new Map<string, WireTaint[]>();
  /** When the taint manager first found each pod tolerating its node's NoExecute taints for a while, ms. */
  private readonly evictionStart = new Map<string, number>();
  private readonly nodes: WorkQueue;
  private readonly pods: WorkQueue;
  private cancelMonitor: Cancel = () => undefined;
  private stopWatching: (() => void)[] = [];

  constructor(private readonly runtime: SimRuntime) {
    const { store, registry, timings } = runtime;
    this.store = store;
    this.registry = registry;
    this.timings = timings;
    this.nodes = new WorkQueue(runtime, (name) => this.syncNode(name), { name: 'node-lifecycle' });
    this.pods = new WorkQueue(runtime, (key) => this.syncPodEviction(key), { name: 'taint-eviction' });
  }

  start(): void {
    const { runtime } = this;
    const unsubscribe = this.store.subscribe((event) => this.onStoreEvent(event));
    const unsubscribeNudges = onKubeletSync(runtime, (name) => this.nodes.add(name));
    this.stopWatching = [unsubscribe, unsubscribeNudges];
    for (const node of this.store.all('core/nodes')) {
      this.healthOf(node.metadata.name);
      this.nodes.add(node.metadata.name);
    }
    this.cancelMonitor = runtime.after(0, () => this.monitor());
  }

  stop(): void {
    for (const stop of this.stopWatching) stop();
    this.cancelMonitor();
  }

  private zeroMode(): boolean {
    return this.timings.nodeMonitorGrace <= 0;
  }

  private healthOf(name: string): NodeHealth {
    let h = this.health.get(name);
    if (!h) this.health.set(name, (h = { probe: this.runtime.now(), observedReady: undefined, sawLease: false }));
    return h;
  }

  /** The kubelet stopped posting: by the grace period, or (zero-delay mode) as soon as its machine is down. */
  private silent(name: string, h: NodeHealth): boolean {
    const machine = this.runtime.machines.get(name);
    if (!machine && !h.sawLease) return false;
    if (this.zeroMode()) return !machine || machine.state !== 'running' || machine.health === 'kubelet-down';
    return this.runtime.now() - h.probe > this.timings.nodeMonitorGrace;
  }

  private syncNode(name: string): void {
    let node = this.store.get('core/nodes', undefined, name);
    if (!node) return;
    const h = this.healthOf(name);
    const now = this.runtime.now();
    if (this.silent(name, h)) {
      const unknown = withUnknownConditions(node, now);
      if (unknown) node = this.registry.update(this.nodeDef, undefined, name, unknown, { subresource: 'status' });
    }
    const ready = readyStatus(node);
    if (h.observedReady === 'True' && ready !== 'True') {
      // As upstream: the event is Normal (RecordNodeStatusChange), reason NodeNotReady.
      this.runtime.recordEvent(
        node,
        'Normal',
        'NodeNotReady',
        `Node ${name} status is now: NodeNotReady`,
        'node-controller',
      );
      this.markPodsNotReady(name, now);
    }
    h.observedReady = ready;
    const taints = reconcileTaints(node, now);
    if (taints) {
      const spec: Record<string, unknown> = { ...node.spec };
      if (taints.length > 0) spec['taints'] = taints;
      else delete spec['taints'];
      node = this.registry.update(this.nodeDef, undefined, name, { ...node, spec });
    }
    this.trackNoExecute(node);
  }

  /** Keeps the NoExecute taints of a node at hand and queues its pods when they change. */
  private trackNoExecute(node: KubeObject): void {
    const name = node.metadata.name;
    const taints = nodeTaints(node).filter((t) => t.effect === 'NoExecute');
    const before = this.noExecute.get(name) ?? [];
    if (taints.length === 0) this.noExecute.delete(name);
    else this.noExecute.set(name, taints);
    const same =
      before.length === taints.length &&
      before.every((t, i) => t.key === taints[i]?.key && t.value === taints[i]?.value);
    if (same) return;
    for (const pod of this.store.byIndex('core/pods', 'spec.nodeName', name))
      this.pods.add(objectKey(pod.metadata.namespace, pod.metadata.name));
  }

  /** Upstream's MarkPodsNotReady: the pods of a node that stopped being Ready lose their Ready condition. */
  private markPodsNotReady(name: string, now: number): void {
    for (const pod of this.store.byIndex('core/pods', 'spec.nodeName', name)) {
      const conditions = pod.status?.['conditions'];
      if (!Array.isArray(conditions)) continue;
      const ready = (conditions as unknown[]).find((c) => isRecord(c) && c['type'] === 'Ready');
      if (!isRecord(ready) || ready['status'] === 'False') continue;
      const next = (conditions as unknown[]).map((c) =>
        c === ready ? { ...ready, status: 'False', lastTransitionTime: rfc3339(now) } : c,
      );
      try {
        this.registry.update(
          this.podDef,
          pod.metadata.namespace,
          pod.metadata.name,
          { ...pod, status: { ...pod.status, conditions: next } },
          { subresource: 'status' },
        );
      } catch (err) {
        if (!(err instanceof StatusError && err.code === 404)) throw err;
      }
    }
  }

  private syncPodEviction(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    const pod = this.store.get('core/pods', namespace, name);
    if (!pod || pod.metadata.deletionTimestamp) {
      this.evictionStart.delete(key);
      return;
    }
    const nodeName = pod.spec?.['nodeName'];
    const taints = typeof nodeName === 'string' ? this.noExecute.get(nodeName) : undefined;
    if (!taints || taints.length === 0) {
      this.evictionStart.delete(key);
      return;
    }
    const tolerations = podTolerations(pod);
    const used: WireToleration[] = [];
    for (const taint of taints) {
      const match = tolerations.find((t) => toleratesTaint(t, taint));
      if (!match) {
        this.evict(pod, key);
        return;
      }
      used.push(match);
    }
    const seconds = minTolerationSeconds(used);
    if (seconds === undefined) {
      this.evictionStart.delete(key);
      return;
    }
    const now = this.runtime.now();
    let start = this.evictionStart.get(key);
    if (start === undefined) this.evictionStart.set(key, (start = now));
    const due = start + scaledNodeSeconds(seconds, this.timings);
    if (now >= due) this.evict(pod, key);
    else this.pods.addAfter(key, due - now);
  }

  private evict(pod: KubeObject, key: string): void {
    this.evictionStart.delete(key);
    const { namespace, name, uid } = pod.metadata;
    try {
      const marked = this.registry.update(this.podDef, namespace, name, withDisruptionTarget(pod, this.runtime.now()), {
        subresource: 'status',
      });
      this.registry.delete(this.podDef, namespace, name, { preconditions: { uid } });
      this.runtime.recordEvent(
        marked,
        'Normal',
        'TaintManagerEviction',
        `Marking for deletion Pod ${key}`,
        'taint-eviction-controller',
      );
    } catch (err) {
      // Gone or replaced meanwhile: nothing left to evict.
      if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) throw err;
    }
  }

  private monitor(): void {
    if (this.runtime.stopped()) return;
    for (const [name, h] of this.health) {
      if (h.observedReady !== 'Unknown' && this.silent(name, h)) this.nodes.add(name);
    }
    const period = this.zeroMode()
      ? ZERO_MODE_MONITOR_MS
      : Math.min(5_000, Math.max(5, this.timings.nodeMonitorGrace / 4));
    this.cancelMonitor = this.runtime.after(period, () => this.monitor());
  }

  private onStoreEvent(event: StoreEvent): void {
    if (event.storage === 'core/nodes') {
      const name = event.object.metadata.name;
      if (event.type === 'DELETED') {
        this.health.delete(name);
        this.noExecute.delete(name);
        return;
      }
      const h = this.healthOf(name);
      const previous = event.previous;
      if (event.type === 'ADDED' || !previous) {
        h.probe = this.runtime.now();
        this.nodes.add(name);
        return;
      }
      const beat = conditionOf(event.object, 'Ready')?.['lastHeartbeatTime'];
      if (beat !== conditionOf(previous, 'Ready')?.['lastHeartbeatTime']) h.probe = this.runtime.now();
      if (event.object.spec !== previous.spec || conditionStatuses(event.object) !== conditionStatuses(previous))
        this.nodes.add(name);
      return;
    }
    if (event.storage === 'coordination.k8s.io/leases') {
      if (event.type === 'DELETED' || event.object.metadata.namespace !== 'kube-node-lease') return;
      const renew = event.object.spec?.['renewTime'];
      if (event.type === 'ADDED' || renew !== event.previous?.spec?.['renewTime']) {
        const h = this.healthOf(event.object.metadata.name);
        h.probe = this.runtime.now();
        h.sawLease = true;
      }
      return;
    }
    if (event.storage === 'core/pods') {
      const key = objectKey(event.object.metadata.namespace, event.object.metadata.name);
      if (event.type === 'DELETED') {
        this.evictionStart.delete(key);
        return;
      }
      // Only what changes the decision: a new pod, a new binding, new tolerations (not status writes).
      if (event.type === 'MODIFIED' && event.previous?.spec === event.object.spec) return;
      const nodeName = event.object.spec?.['nodeName'];
      if (typeof nodeName === 'string' && this.noExecute.has(nodeName) && !event.object.metadata.deletionTimestamp)
        this.pods.add(key);
    }
  }
}

/**
 * Upstream's tryUpdateNodeHealth for a silent kubelet: Ready and the pressure conditions go Unknown (a condition the
 * kubelet never posted is added as NodeStatusNeverUpdated). Undefined when they are all Unknown already.
 */
function withUnknownConditions(node: KubeObject, now: number): KubeObject | undefined {
  const conditions = nodeConditions(node);
  const next: unknown[] = Array.isArray(node.status?.['conditions'])
    ? [...(node.status['conditions'] as unknown[])]
    : [];
  let changed = false;
  for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
    const current = conditions.find((c) => c.type === type);
    if (!current) {
      next.push({
        type,
        status: 'Unknown',
        lastHeartbeatTime: node.metadata.creationTimestamp,
        lastTransitionTime: rfc3339(now),
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
      });
      changed = true;
    } else if (current.status !== 'Unknown') {
      next[next.indexOf(current)] = {
        ...current,
        status: 'Unknown',
        lastTransitionTime: rfc3339(now),
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
      };
      changed = true;
    }
  }
  return changed ? { ...node, status: { ...node.status, conditions: next } } : undefined;
}

/**
 * Upstream's getMinTolerationTime over the tolerations that matched: the shortest `tolerationSeconds`, 0 for a
 * non-positive one, undefined (tolerated for ever) when none sets it.
 */
function minTolerationSeconds(tolerations: readonly WireToleration[]): number | undefined {
  let min: number | undefined;
  for (const t of tolerations) {
    if (t.tolerationSeconds === undefined) continue;
    if (t.tolerationSeconds <= 0) return 0;
    if (min === undefined || t.tolerationSeconds < min) min = t.tolerationSeconds;
  }
  return min;
}

/** The pod with condition DisruptionTarget=True as the taint manager sets it before deleting. */
function withDisruptionTarget(pod: KubeObject, now: number): KubeObject {
  const conditions = Array.isArray(pod.status?.['conditions']) ? (pod.status['conditions'] as unknown[]) : [];
  return {
    ...pod,
    status: {
      ...pod.status,
      conditions: [
        ...conditions.filter((c) => !(isRecord(c) && c['type'] === 'DisruptionTarget')),
        {
          type: 'DisruptionTarget',
          status: 'True',
          reason: 'DeletionByTaintManager',
          message: 'Taint manager: deleting due to NoExecute taint',
          lastProbeTime: null,
          lastTransitionTime: rfc3339(now),
        },
      ],
    },
  };
}
