/**
 * kube-scheduler for kube-sim: binds pending pods (`schedulerName: default-scheduler`, no `spec.nodeName`) to a node
 * with the default plugins' filters, in upstream's order, and upstream's failure wording:
 *
 * - NodeUnschedulable: `spec.unschedulable` unless the pod tolerates `node.kubernetes.io/unschedulable:NoSchedule`;
 * - TaintToleration: every NoSchedule and NoExecute taint must be tolerated; a NotReady node carries the not-ready
 *   taint, so readiness is checked through taints as upstream. A PreferNoSchedule taint the pod does not tolerate
 *   only steers: such a node is taken only when no feasible node without one is left (upstream scores it lower,
 *   with TaintToleration's weight above the resource scores', so a node being replaced stops taking new pods);
 * - NodeAffinity: `nodeSelector` and required node affinity (matchExpressions on labels, matchFields on
 *   metadata.name);
 * - NodeResourcesFit: pod count against `allocatable.pods`, CPU and memory requests against allocatable minus the
 *   requests of the pods on the node (terminating pods count until they are gone; Succeeded and Failed ones do not).
 *
 * Scoring is "least allocated": the feasible node with the most free CPU wins, ties by name. Free CPU counts a
 * container without a CPU request as 100m, as upstream's scoring does, so best-effort pods spread too.
 *
 * Built for 5,000 nodes and 50,000 pods: per-node requests are kept up to date from store events (never re-summed),
 * nodes are kept sorted by free CPU so the first node that passes the filters is the best one, and a pod that fits
 * nowhere is parked until a node or a pod change could make room (upstream's unschedulable queue).
 */
import { rfc3339 } from '../api/registry.ts';
import { StatusError } from '../api/status.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord, objectKey } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { cpuMillis, memoryBytes } from '../../k8s/quantity.ts';
import type { NodeSelectorTerm } from '../../k8s/scheduling.ts';
import {
  findUntoleratedTaint,
  nodeSelectorMatches,
  nodeSelectorTermsMatch,
  requiredNodeAffinityTerms,
  toleratesTaint,
} from '../../k8s/scheduling.ts';
import type { WireTaint, WireToleration } from './node-lifecycle.ts';
import { TAINT_UNSCHEDULABLE, nodeTaints, podTolerations } from './node-lifecycle.ts';
import { WorkQueue } from './work-queue.ts';
import type { ObjectStore, StoreEvent } from '../store/object-store.ts';

/** The scheduler name kube-sim's scheduler answers to. */
const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** Upstream's non-zero defaults for scoring a container without requests (`pkg/scheduler/util`). */
const DEFAULT_MILLI_CPU_REQUEST = 100;

const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
const REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
const REASON_TOO_MANY_PODS = 'Too many pods';
const REASON_CPU = 'Insufficient cpu';
const REASON_MEMORY = 'Insufficient memory';
const PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
const PREEMPTION_NO_VICTIMS = 'No preemption victims found for incoming pod';

/** What a pod asks of a node. */
interface PodRequests {
  /** Millicores. */
  cpu: number;
  /** Bytes. */
  memory: number;
  /** Millicores for scoring (a container without a CPU request counts 100m). */
  scoreCpu: number;
}

/** The scheduler's view of one node: what it offers, what its pods use, what its filters look at. */
interface NodeSlot {
  name: string;
  allocCpu: number;
  allocMemory: number;
  allocPods: number;
  usedCpu: number;
  usedMemory: number;
  usedPods: number;
  usedScoreCpu: number;
  unschedulable: boolean;
  /** NoSchedule and NoExecute taints only: the ones that filter. */
  taints: WireTaint[];
  /** PreferNoSchedule taints: the ones that steer. */
  preferTaints: WireTaint[];
  labels: Record<string, string>;
  /** The free score CPU the slot is sorted by; changes only through reposition(). */
  sortKey: number;
  /** Everything scheduling reads from the Node object, to tell a relevant change from a heartbeat. */
  signature: string;
}

/** A pod's requests as charged to a node. */
interface Charge extends PodRequests {
  node: string;
  /** The spec the requests were computed from (specs are immutable objects: same reference, same requests). */
  spec: unknown;
}

/** The filters a pod brings, compiled once per scheduling attempt. */
interface PodFilter {
  tolerations: WireToleration[];
  toleratesUnschedulable: boolean;
  nodeSelector: Record<string, string> | undefined;
  /** Required node affinity terms (ORed); undefined when the pod has none. */
  affinityTerms: NodeSelectorTerm[] | undefined;
}

/** Starts the scheduler; returns its stop function. */
export function startScheduler(runtime: SimRuntime): () => void {
  return new Scheduler(runtime).start();
}

/**
 * The scheduler's state (a slot per node, kept in free-CPU order; each pod's charge; the pods that fit nowhere) and
 * its parts: the sorted node order, bookkeeping from the store's events, and scheduling a pod.
 */
class Scheduler {
  private readonly store: ObjectStore;
  private readonly registry: SimRuntime['registry'];
  private readonly podDef = kindDef('Pod');
  private readonly slots = new Map<string, NodeSlot>();
  /** Slots sorted by free score CPU, most first, then by name. */
  private readonly order = new SlotOrder();
  private readonly charges = new Map<string, Charge>();
  /** Pods that fit nowhere, waiting for a change that could make room. */
  private readonly parked = new Set<string>();
  /** Failure messages of pods that just failed, by pod shape: a run of identical pods is diagnosed once. */
  private readonly failures = new Map<string, string>();
  private flushPending = false;
  private readonly queue: WorkQueue;

  constructor(private readonly runtime: SimRuntime) {
    const { store, registry } = runtime;
    this.store = store;
    this.registry = registry;
    this.queue = new WorkQueue(runtime, (key) => this.schedule(key), { name: 'scheduler' });
  }

  /** Follows the store's events, then charges every pod there is and queues those to schedule; returns the stop. */
  start(): () => void {
    const unsubscribe = this.store.subscribe((event) => this.onStoreEvent(event));

    for (const node of this.store.all('core/nodes')) this.nodeChanged(node, undefined);
    for (const pod of this.store.all('core/pods')) {
      const key = podKey(pod);
      this.chargePod(key, pod);
      if (wantsScheduling(pod)) this.queue.add(key);
    }

    return unsubscribe;
  }

  // --- the sorted node order -----------------------------------------------------------------

  private freeScore(s: NodeSlot): number {
    return s.allocCpu - s.usedScoreCpu;
  }

  private insertSlot(slot: NodeSlot): void {
    slot.sortKey = this.freeScore(slot);
    this.order.insert(slot);
  }

  private removeSlot(slot: NodeSlot): void {
    this.order.remove(slot);
  }

  /** Moves a slot to where its new free CPU puts it. */
  private reposition(slot: NodeSlot): void {
    const key = this.freeScore(slot);
    if (key === slot.sortKey) return;
    if (!this.order.remove(slot)) return;
    slot.sortKey = key;
    this.order.insert(slot);
  }

  // --- bookkeeping from store events ---------------------------------------------------------

  private slotFrom(node: KubeObject, previous: NodeSlot | undefined): NodeSlot {
    const status = node.status ?? {};
    const allocatable = isRecord(status['allocatable'])
      ? status['allocatable']
      : isRecord(status['capacity'])
        ? status['capacity']
        : {};
    const labels = isRecord(node.metadata.labels) ? node.metadata.labels : {};
    const taints = nodeTaints(node).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
    const preferTaints = nodeTaints(node).filter((t) => t.effect === 'PreferNoSchedule');
    const unschedulable = node.spec?.['unschedulable'] === true;
    return {
      name: node.metadata.name,
      allocCpu: quantity(allocatable['cpu'], cpuMillis),
      allocMemory: quantity(allocatable['memory'], memoryBytes),
      allocPods: podCount(allocatable['pods']),
      usedCpu: previous?.usedCpu ?? 0,
      usedMemory: previous?.usedMemory ?? 0,
      usedPods: previous?.usedPods ?? 0,
      usedScoreCpu: previous?.usedScoreCpu ?? 0,
      unschedulable,
      taints,
      preferTaints,
      labels,
      sortKey: 0,
      signature: JSON.stringify([
        unschedulable,
        taints,
        preferTaints,
        labels,
        allocatable['cpu'],
        allocatable['memory'],
        allocatable['pods'],
      ]),
    };
  }

  /** A node appeared or changed; true when the change could let a parked pod fit. */
  private nodeChanged(node: KubeObject, previousObject: KubeObject | undefined): boolean {
    const current = this.slots.get(node.metadata.name);
    // A heartbeat rewrites status.conditions only: spec, labels and allocatable keep their references.
    if (
      current &&
      previousObject &&
      previousObject.spec === node.spec &&
      previousObject.metadata.labels === node.metadata.labels &&
      previousObject.status?.['allocatable'] === node.status?.['allocatable']
    ) {
      return false;
    }
    const next = this.slotFrom(node, current);
    if (current && current.signature === next.signature) return false;
    if (current) this.removeSlot(current);
    else {
      // Pods may have been bound before their node appeared (or while the scheduler did not know it).
      for (const pod of this.store.byIndex('core/pods', 'spec.nodeName', next.name)) {
        const charge = this.charges.get(podKey(pod));
        if (charge?.node !== next.name) continue;
        next.usedCpu += charge.cpu;
        next.usedMemory += charge.memory;
        next.usedScoreCpu += charge.scoreCpu;
        next.usedPods += 1;
      }
    }
    this.slots.set(next.name, next);
    this.insertSlot(next);
    return true;
  }

  private nodeRemoved(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    this.removeSlot(slot);
    this.slots.delete(name);
    // The node count is part of every failure message.
    this.failures.clear();
  }

  private applyCharge(charge: Charge, sign: 1 | -1): void {
    const slot = this.slots.get(charge.node);
    if (!slot) return;
    slot.usedCpu += sign * charge.cpu;
    slot.usedMemory += sign * charge.memory;
    slot.usedScoreCpu += sign * charge.scoreCpu;
    slot.usedPods += sign;
    this.reposition(slot);
  }

  /** Brings a pod's charge in line with the pod; true when resources were freed. */
  private chargePod(key: string, pod: KubeObject | undefined): boolean {
    const current = this.charges.get(key);
    const nodeName = pod?.spec?.['nodeName'];
    const phase = pod?.status?.['phase'];
    const counts =
      pod !== undefined &&
      typeof nodeName === 'string' &&
      nodeName !== '' &&
      phase !== 'Succeeded' &&
      phase !== 'Failed';
    if (!counts) {
      if (!current) return false;
      this.charges.delete(key);
      this.applyCharge(current, -1);
      return true;
    }
    if (current && current.node === nodeName && current.spec === pod.spec) return false;
    const next: Charge = { ...podRequests(pod), node: nodeName, spec: pod.spec };
    if (current) this.applyCharge(current, -1);
    this.charges.set(key, next);
    this.applyCharge(next, 1);
    return current !== undefined;
  }

  /** Requeues every parked pod once the current event burst is over. */
  private requestFlush(): void {
    this.failures.clear();
    if (this.flushPending || this.parked.size === 0) return;
    this.flushPending = true;
    this.runtime.after(0, () => {
      this.flushPending = false;
      for (const key of this.parked) this.queue.add(key);
      this.parked.clear();
    });
  }

  // --- scheduling ------------------------------------------------------------------------------

  private schedule(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    const pod = this.store.get('core/pods', namespace, name);
    if (!pod || !wantsScheduling(pod)) {
      this.parked.delete(key);
      return;
    }
    const requests = podRequests(pod);
    const filter = compileFilter(pod);
    const feasible = (slot: NodeSlot): boolean =>
      nodeFailure(slot, filter) === undefined && resourceFailures(slot, requests).length === 0;
    const best =
      this.order.find((slot) => feasible(slot) && !avoids(slot, filter)) ?? this.order.find(feasible);
    if (best) {
      this.bind(pod, best.name);
      return;
    }
    const shape = `${requests.cpu}/${requests.memory}/${JSON.stringify([filter.tolerations, filter.nodeSelector, filter.affinityTerms, pod.spec?.['preemptionPolicy']])}`;
    let message = this.failures.get(shape);
    if (message === undefined) {
      message = this.diagnose(pod, filter, requests);
      this.failures.set(shape, message);
    }
    this.parked.add(key);
    this.markUnschedulable(pod, message);
  }

  /** Upstream's FitError message: a sorted histogram of each node's reasons, then the preemption verdict. */
  private diagnose(pod: KubeObject, filter: PodFilter, requests: PodRequests): string {
    if (this.slots.size === 0) return 'no nodes available to schedule pods';
    const reasons = new Map<string, number>();
    let unresolvable = 0;
    for (const slot of this.slots.values()) {
      const failure = nodeFailure(slot, filter);
      const list = failure === undefined ? resourceFailures(slot, requests) : [failure];
      if (failure !== undefined) unresolvable += 1;
      for (const reason of list) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    const n = this.slots.size;
    let message = `0/${n} nodes are available: ${histogram(reasons)}.`;
    if (pod.spec?.['preemptionPolicy'] === 'Never') {
      message += ' preemption: not eligible due to preemptionPolicy=Never..';
    } else {
      // kube-sim has no lower-priority victims to offer: nodes that failed on resources find none.
      const preemption = new Map<string, number>();
      if (unresolvable > 0) preemption.set(PREEMPTION_NOT_HELPFUL, unresolvable);
      if (n - unresolvable > 0) preemption.set(PREEMPTION_NO_VICTIMS, n - unresolvable);
      message += ` preemption: 0/${n} nodes are available: ${histogram(preemption)}..`;
    }
    return message;
  }

  private bind(pod: KubeObject, nodeName: string): void {
    const { namespace, name } = pod.metadata;
    this.failures.clear();
    let bound: KubeObject;
    try {
      // What the binding subresource does: set spec.nodeName once, then PodScheduled=True.
      bound = this.registry.update(this.podDef, namespace, name, { ...pod, spec: { ...pod.spec, nodeName } });
    } catch (err) {
      if (err instanceof StatusError && (err.code === 404 || err.code === 409)) return;
      throw err;
    }
    const conditions = withCondition(
      bound,
      { type: 'PodScheduled', status: 'True', lastProbeTime: null },
      this.runtime.now(),
    );
    if (conditions) {
      const { nominatedNodeName: _dropped, ...status } = bound.status ?? {};
      this.registry.update(
        this.podDef,
        namespace,
        name,
        { ...bound, status: { ...status, conditions } },
        { subresource: 'status' },
      );
    }
  }

  private markUnschedulable(pod: KubeObject, message: string): void {
    const conditions = withCondition(
      pod,
      { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null },
      this.runtime.now(),
    );
    if (!conditions) return;
    this.registry.update(
      this.podDef,
      pod.metadata.namespace,
      pod.metadata.name,
      { ...pod, status: { ...pod.status, conditions } },
      { subresource: 'status' },
    );
    this.runtime.recordEvent(pod, 'Warning', 'FailedScheduling', message, DEFAULT_SCHEDULER_NAME);
  }

  // --- events ----------------------------------------------------------------------------------

  private onStoreEvent(event: StoreEvent): void {
    if (event.storage === 'core/nodes') {
      if (event.type === 'DELETED') this.nodeRemoved(event.object.metadata.name);
      else if (this.nodeChanged(event.object, event.previous)) this.requestFlush();
      return;
    }
    if (event.storage !== 'core/pods') return;
    const pod = event.object;
    const key = podKey(pod);
    if (event.type === 'DELETED') {
      this.parked.delete(key);
      if (this.chargePod(key, undefined)) this.requestFlush();
      return;
    }
    if (this.chargePod(key, pod)) this.requestFlush();
    // A status write (ours included) keeps the spec object: only a new pod or a new spec is worth a new attempt.
    if (wantsScheduling(pod) && (event.type === 'ADDED' || event.previous?.spec !== pod.spec)) {
      this.parked.delete(key);
      this.queue.add(key);
    }
  }
}

/** Whether slot `a` sorts before slot `b`: more free CPU first, then by name. */
function sortsBefore(a: NodeSlot, b: NodeSlot): boolean {
  return a.sortKey !== b.sortKey ? a.sortKey > b.sortKey : a.name < b.name;
}

/**
 * The nodes in scoring order, as a list of small sorted blocks: a bind moves one node, which costs a search and a
 * splice within one block (O(sqrt n)), where one sorted array would shift thousands of equal nodes per bind.
 */
class SlotOrder {
  private static readonly BLOCK = 64;
  private readonly blocks: NodeSlot[][] = [];

  /** The first block whose last slot does not sort before `slot` (blocks.length when none). */
  private blockFor(slot: NodeSlot): number {
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = this.blocks[mid] as NodeSlot[];
      if (sortsBefore(block[block.length - 1] as NodeSlot, slot)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds a slot at the place its sortKey and name give it. */
  insert(slot: NodeSlot): void {
    if (this.blocks.length === 0) {
      this.blocks.push([slot]);
      return;
    }
    const b = Math.min(this.blockFor(slot), this.blocks.length - 1);
    const block = this.blocks[b] as NodeSlot[];
    let lo = 0;
    let hi = block.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sortsBefore(block[mid] as NodeSlot, slot)) lo = mid + 1;
      else hi = mid;
    }
    block.splice(lo, 0, slot);
    if (block.length > 2 * SlotOrder.BLOCK) this.blocks.splice(b + 1, 0, block.splice(SlotOrder.BLOCK));
  }

  /** Removes a slot (found by the sortKey it was inserted with); false when it is not there. */
  remove(slot: NodeSlot): boolean {
    const b = this.blockFor(slot);
    const block = this.blocks[b];
    if (!block) return false;
    let lo = 0;
    let hi = block.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sortsBefore(block[mid] as NodeSlot, slot)) lo = mid + 1;
      else hi = mid;
    }
    if (block[lo] !== slot) return false;
    block.splice(lo, 1);
    if (block.length === 0) this.blocks.splice(b, 1);
    return true;
  }

  /** The first slot, in order, that passes `test`. */
  find(test: (slot: NodeSlot) => boolean): NodeSlot | undefined {
    for (const block of this.blocks) {
      for (const slot of block) if (test(slot)) return slot;
    }
    return undefined;
  }
}

function podKey(pod: KubeObject): string {
  return objectKey(pod.metadata.namespace, pod.metadata.name);
}

/** A pod this scheduler should place: unbound, not deleting, not finished, ours, not gated. */
function wantsScheduling(pod: KubeObject): boolean {
  const spec = pod.spec ?? {};
  if (spec['nodeName'] || pod.metadata.deletionTimestamp) return false;
  const phase = pod.status?.['phase'];
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const schedulerName = spec['schedulerName'];
  if (schedulerName !== undefined && schedulerName !== '' && schedulerName !== DEFAULT_SCHEDULER_NAME) return false;
  const gates = spec['schedulingGates'];
  return !(Array.isArray(gates) && gates.length > 0);
}

const cpuCache = new Map<string, number>();
const memoryCache = new Map<string, number>();

/** A quantity through a parser, memoised (pods repeat a handful of request values); 0 when absent or invalid. */
function quantity(value: unknown, parse: (q: string) => number): number {
  if (typeof value !== 'string' && typeof value !== 'number') return 0;
  const text = String(value);
  const cache = parse === cpuMillis ? cpuCache : memoryCache;
  let n = cache.get(text);
  if (n === undefined) {
    try {
      n = parse(text);
    } catch {
      n = 0;
    }
    if (cache.size < 10_000) cache.set(text, n);
  }
  return n;
}

function podCount(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : 0;
}

/**
 * Upstream's pod request: the sum over containers, at least the largest init container, plus the pod overhead.
 * Scoring counts a container without a CPU request as 100m.
 */
function podRequests(pod: KubeObject): PodRequests {
  const spec = pod.spec ?? {};
  const sum: PodRequests = { cpu: 0, memory: 0, scoreCpu: 0 };
  for (const c of Array.isArray(spec['containers']) ? (spec['containers'] as unknown[]) : []) {
    const r = containerRequests(c);
    sum.cpu += r.cpu;
    sum.memory += r.memory;
    sum.scoreCpu += r.cpu > 0 ? r.cpu : DEFAULT_MILLI_CPU_REQUEST;
  }
  for (const c of Array.isArray(spec['initContainers']) ? (spec['initContainers'] as unknown[]) : []) {
    const r = containerRequests(c);
    sum.cpu = Math.max(sum.cpu, r.cpu);
    sum.memory = Math.max(sum.memory, r.memory);
    sum.scoreCpu = Math.max(sum.scoreCpu, r.cpu > 0 ? r.cpu : DEFAULT_MILLI_CPU_REQUEST);
  }
  const overhead = spec['overhead'];
  if (isRecord(overhead)) {
    const cpu = quantity(overhead['cpu'], cpuMillis);
    sum.cpu += cpu;
    sum.scoreCpu += cpu;
    sum.memory += quantity(overhead['memory'], memoryBytes);
  }
  return sum;
}

function containerRequests(container: unknown): { cpu: number; memory: number } {
  if (!isRecord(container) || !isRecord(container['resources'])) return { cpu: 0, memory: 0 };
  const resources = container['resources'];
  // Limits without requests default the requests (the apiserver does this on create; clients may skip it).
  const requests = isRecord(resources['requests']) ? resources['requests'] : {};
  const limits = isRecord(resources['limits']) ? resources['limits'] : {};
  return {
    cpu: quantity(requests['cpu'] ?? limits['cpu'], cpuMillis),
    memory: quantity(requests['memory'] ?? limits['memory'], memoryBytes),
  };
}

function compileFilter(pod: KubeObject): PodFilter {
  const tolerations = podTolerations(pod);
  const unschedulableTaint: WireTaint = { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' };
  const selector = pod.spec?.['nodeSelector'];
  return {
    tolerations,
    toleratesUnschedulable: tolerations.some((t) => toleratesTaint(t, unschedulableTaint)),
    nodeSelector: isRecord(selector)
      ? Object.fromEntries(Object.entries(selector).map(([k, v]) => [k, String(v)]))
      : undefined,
    affinityTerms: requiredNodeAffinityTerms(pod.spec),
  };
}

/** The first failing non-resource filter (NodeUnschedulable, TaintToleration, NodeAffinity), as upstream runs them. */
function nodeFailure(slot: NodeSlot, filter: PodFilter): string | undefined {
  if (slot.unschedulable && !filter.toleratesUnschedulable) return REASON_UNSCHEDULABLE;
  // The slot holds only NoSchedule and NoExecute taints, the ones this filter checks.
  const taint = findUntoleratedTaint(slot.taints, filter.tolerations);
  if (taint !== undefined) return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
  if (!nodeSelectorMatches(filter.nodeSelector, slot.labels)) return REASON_AFFINITY;
  if (!nodeSelectorTermsMatch(filter.affinityTerms, slot)) return REASON_AFFINITY;
  return undefined;
}

/** Whether the node has a PreferNoSchedule taint the pod does not tolerate (the scheduler takes it last). */
function avoids(slot: NodeSlot, filter: PodFilter): boolean {
  return slot.preferTaints.length > 0 && findUntoleratedTaint(slot.preferTaints, filter.tolerations, PREFER) !== undefined;
}
const PREFER = ['PreferNoSchedule'] as const;

/** NodeResourcesFit: every resource that does not fit is a reason (pods first, then cpu, then memory). */
function resourceFailures(slot: NodeSlot, requests: PodRequests): string[] {
  const reasons: string[] = [];
  if (slot.usedPods + 1 > slot.allocPods) reasons.push(REASON_TOO_MANY_PODS);
  if (requests.cpu > 0 && requests.cpu > slot.allocCpu - slot.usedCpu) reasons.push(REASON_CPU);
  if (requests.memory > 0 && requests.memory > slot.allocMemory - slot.usedMemory) reasons.push(REASON_MEMORY);
  return reasons;
}

/** "3 Insufficient cpu, 2 node(s) were unschedulable", sorted as strings as upstream sorts them. */
function histogram(counts: Map<string, number>): string {
  return [...counts]
    .map(([reason, n]) => `${n} ${reason}`)
    .sort()
    .join(', ');
}

/**
 * The pod's conditions with `condition` set (lastTransitionTime kept when the status did not change), or undefined
 * when the pod already has it exactly.
 */
function withCondition(pod: KubeObject, condition: Record<string, unknown>, now: number): unknown[] | undefined {
  const conditions = Array.isArray(pod.status?.['conditions']) ? (pod.status['conditions'] as unknown[]) : [];
  const at = conditions.findIndex((c) => isRecord(c) && c['type'] === condition['type']);
  const current = at >= 0 ? conditions[at] : undefined;
  if (
    isRecord(current) &&
    current['status'] === condition['status'] &&
    current['reason'] === condition['reason'] &&
    current['message'] === condition['message']
  ) {
    return undefined;
  }
  const lastTransitionTime =
    isRecord(current) && current['status'] === condition['status'] ? current['lastTransitionTime'] : rfc3339(now);
  const next = { ...condition, lastTransitionTime };
  if (at < 0) return [...conditions, next];
  return conditions.map((c, i) => (i === at ? next : c));
}
