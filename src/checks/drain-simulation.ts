/**
 * The drain simulation: replays the planned drains batch by batch on the snapshot and tells, for each batch,
 * whether the pods evicted from it fit on the nodes that stay schedulable (CPU and memory requests against
 * allocatable, pod slots, node selectors, required node affinity, taints), and which PodDisruptionBudgets would hold
 * the drain because the replacements of their pods cannot start.
 *
 * The model, stated so its answers can be judged:
 * - Control-plane nodes go first, one at a time; then each pool, in the batches of the batch policy, nodes in name
 *   order. A batch's nodes are cordoned together; their controller-managed pods are evicted and must be placed on
 *   the other schedulable nodes (Ready, not cordoned, not in the batch). DaemonSet and static pods stay; pods with no
 *   controller are deleted and not placed (the `drain-refusals` rule reports them).
 * - Upgrades are in place: after its batch a node comes back schedulable with only its DaemonSet and static pods,
 *   and pods still Pending are placed then (as the scheduler would). Nodes that were cordoned or NotReady before
 *   stay out of scheduling throughout. Surge nodes, if the provider adds any, are extra room this ignores.
 * - Blue-green (`blueGreen`): before a pool's first batch, a green node joins beside each of its nodes, a copy of it
 *   with only its DaemonSet and static pods; the whole blue pool is cordoned; then the blue nodes drain in the batches
 *   and never come back. Evicted pods must fit on the green nodes (and the rest of the cluster).
 * - Placement is next-fit over the candidate nodes, nodes already upgraded first (the scheduler's least-allocated
 *   scoring prefers them too), largest pods first: a good packing, so a pod reported Pending would not fit in
 *   practice either. Pod (anti-)affinity and topology spread are not modelled.
 * - A budget holds the drain when more of its pods lose their place than it allows disruptions (the evictions after
 *   that wait for replacements that never start). Budgets that allow no disruption at all are the `pdb-blockers`
 *   rule's.
 *
 * @module
 */
import type { BatchPolicy } from '../rollout/batches.ts';
import { planBatches } from '../rollout/batches.ts';
import type { ClusterIndex } from './cluster-index.ts';
import { isActive, refKey } from './cluster-index.ts';
import { fitsNode } from './selectors.ts';
import type { ClusterSnapshot, NodeRecord, PdbRecord, PodRecord, SchedulingConstraints } from './snapshot-types.ts';
import type { ObjectRef } from './types.ts';

/** One batch of the simulated rollout. */
export interface SimulatedBatch {
  /** Pool name (`control-plane` for the control-plane nodes). */
  readonly pool: string;
  /** 1-based position in the pool. */
  readonly number: number;
  /** Batches in the pool. */
  readonly of: number;
  readonly nodes: readonly string[];
  /** Pods evicted from the batch that need a new place. */
  readonly evicted: number;
  /** Of those, the ones that found none while the batch drained. */
  readonly pending: number;
}

/** Why a pod found no node. */
export type PendingReason = 'cpu' | 'memory' | 'pods' | 'cpu+memory' | 'no-matching-node';

/** Pods of one workload that found no node during a batch. */
export interface PendingWorkload {
  readonly workload: ObjectRef;
  /** The first batch where its pods found no place. */
  readonly batch: SimulatedBatch;
  /** Its pods evicted in that batch, and how many of them found no place. */
  readonly evicted: number;
  readonly pending: number;
  readonly reason: PendingReason;
  /** Requests of one such pod. */
  readonly requests: PodRecord['requests'];
  /** Still without a place after the last batch: the cluster lacks the room even with every node back. */
  readonly pendingAfterRollout: number;
}

/** A budget that would hold a batch's drain. */
export interface HeldBudget {
  readonly pdb: PdbRecord;
  readonly batch: SimulatedBatch;
  /** Its pods evicted from the batch, those that found no place, and the disruptions it allows. */
  readonly evicted: number;
  readonly pending: number;
  readonly allowed: number;
  readonly workloads: readonly ObjectRef[];
}

/** What the simulation found. */
export interface DrainSimulationResult {
  readonly batches: readonly SimulatedBatch[];
  readonly pending: readonly PendingWorkload[];
  readonly heldBudgets: readonly HeldBudget[];
  /** Evictions simulated in total. */
  readonly evictions: number;
}

/** Options of {@link simulateDrain}. */
export interface DrainSimulationOptions {
  readonly policy: BatchPolicy;
  /** Worker pools to drain, in order; absent: every worker pool, by name. */
  readonly pools?: readonly string[];
  /** Include the control-plane nodes (first, one at a time). @default true */
  readonly controlPlane?: boolean;
  /** The worker pools move blue-green: a green node beside each before the drains. @default false */
  readonly blueGreen?: boolean;
}

interface SimNode {
  readonly record: NodeRecord;
  /** Schedulable at all (Ready, not cordoned before the upgrade). */
  readonly eligible: boolean;
  draining: boolean;
  /** Came back from its upgrade in an earlier batch. */
  upgraded: boolean;
  freeCpu: number;
  freeMemory: number;
  freePods: number;
  /** Controller-managed pods that a drain moves. */
  movable: PodRecord[];
  /** Requests of the pods that stay through a drain (DaemonSet, static). */
  readonly baseCpu: number;
  readonly baseMemory: number;
  readonly basePods: number;
}

const byName = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/** A pod a drain moves: active, not terminating, controlled by something other than a DaemonSet or its node. */
function movable(pod: PodRecord): boolean {
  if (!isActive(pod) || pod.deletingAt !== undefined || pod.mirror) return false;
  return pod.owner !== undefined && pod.owner.kind !== 'DaemonSet' && pod.owner.kind !== 'Node';
}

/** Bigger first: CPU and memory as shares of a common node (4 cores, 16 GiB). */
const size = (p: PodRecord): number => p.requests.cpuMilli / 4000 + p.requests.memoryBytes / 2 ** 34;

interface Candidates {
  /** Nodes that came back from their upgrade, in the order they came back: tried first. */
  readonly upgraded: SimNode[];
  upgradedCursor: number;
  /** Every eligible node that matches. */
  readonly all: SimNode[];
  cursor: number;
}

/**
 * Places pods next-fit, nodes that came back from their upgrade first: they are nearly empty, and the scheduler's
 * default scoring (least allocated) prefers them too, so a pod is rarely moved twice.
 */
class Placer {
  /** Candidate nodes per constraints object (pods of a template share one); `undefined` key for none. */
  private readonly candidates = new Map<SchedulingConstraints | undefined, Candidates>();
  /** Requests that found no room in the current round, per constraints: bigger requests will not fit either. */
  private failures = new Map<SchedulingConstraints | undefined, { cpu: number; memory: number }[]>();

  constructor(private readonly nodes: SimNode[]) {}

  /** A node joins (a green node): a candidate of every constraints it fits, preferred as an upgraded one. */
  add(node: SimNode): void {
    this.nodes.push(node);
    for (const [c, entry] of this.candidates) {
      if (!node.eligible || !fitsNode(c, node.record)) continue;
      entry.all.push(node);
      entry.upgraded.push(node);
    }
  }

  /** Capacity only grows between rounds (nodes come back): forget the failures. */
  newRound(): void {
    this.failures = new Map();
  }

  /** A node is back from its upgrade: prefer it. */
  upgraded(node: SimNode): void {
    if (!node.eligible) return;
    for (const [c, entry] of this.candidates) if (fitsNode(c, node.record)) entry.upgraded.push(node);
  }

  private candidatesFor(c: SchedulingConstraints | undefined): Candidates {
    let entry = this.candidates.get(c);
    if (entry === undefined) {
      const all = this.nodes.filter((n) => n.eligible && fitsNode(c, n.record));
      entry = { upgraded: all.filter((n) => n.upgraded), upgradedCursor: 0, all, cursor: 0 };
      this.candidates.set(c, entry);
    }
    return entry;
  }

  private static take(node: SimNode, cpu: number, memory: number): boolean {
    if (node.draining || node.freeCpu < cpu || node.freeMemory < memory || node.freePods < 1) return false;
    node.freeCpu -= cpu;
    node.freeMemory -= memory;
    node.freePods -= 1;
    return true;
  }

  /** Places a pod on a node with room (and takes the room), or says why none has it. */
  place(pod: PodRecord): SimNode | PendingReason {
    const cpu = pod.requests.cpuMilli;
    const memory = pod.requests.memoryBytes;
    const c = pod.scheduling;
    const failed = this.failures.get(c);
    if (failed?.some((f) => cpu >= f.cpu && memory >= f.memory)) return this.reason(pod);
    const entry = this.candidatesFor(c);
    for (const [list, key] of [
      [entry.upgraded, 'upgradedCursor'],
      [entry.all, 'cursor'],
    ] as const) {
      for (let i = 0; i < list.length; i++) {
        const at = (entry[key] + i) % list.length;
        const node = list[at];
        if (node !== undefined && Placer.take(node, cpu, memory)) {
          entry[key] = at;
          return node;
        }
      }
    }
    const list = this.failures.get(c) ?? [];
    list.push({ cpu, memory });
    this.failures.set(c, list);
    return this.reason(pod);
  }

  /** Why no candidate node has room for the pod. */
  private reason(pod: PodRecord): PendingReason {
    const open = this.candidatesFor(pod.scheduling).all.filter((n) => !n.draining);
    if (open.length === 0) return 'no-matching-node';
    const cpu = open.some((n) => n.freeCpu >= pod.requests.cpuMilli);
    const memory = open.some((n) => n.freeMemory >= pod.requests.memoryBytes);
    if (!open.some((n) => n.freePods >= 1)) return 'pods';
    if (!cpu && !memory) return 'cpu+memory';
    if (!cpu) return 'cpu';
    if (!memory) return 'memory';
    return 'cpu+memory'; // each fits somewhere, but no node has both at once
  }
}

/**
 * Replays the drains of the rollout on the snapshot.
 *
 * @param snapshot - The cluster as read.
 * @param index - Its lookups (see {@link clusterIndex}).
 */
export function simulateDrain(
  snapshot: ClusterSnapshot,
  index: ClusterIndex,
  options: DrainSimulationOptions,
): DrainSimulationResult {
  const simNodes = simulatedNodes(snapshot, index);
  const ordered = [...simNodes.values()].sort((a, b) => byName(a.record.name, b.record.name));
  const placer = new Placer([...ordered]);
  const plannedBatches = batchesToDrain(ordered, options);

  const batches: SimulatedBatch[] = [];
  const pendingByWorkload: PendingByWorkload = new Map();
  const held: HeldBudgets = { budgets: [], seen: new Set() };
  let stillPending: PodRecord[] = [];
  let evictions = 0;

  const greened = new Set<string>();
  for (const planned of plannedBatches) {
    const nodes = planned.nodes.map((name) => simNodes.get(name)).filter((n): n is SimNode => n !== undefined);
    const blueGreen = options.blueGreen === true && planned.pool !== 'control-plane';
    if (blueGreen && !greened.has(planned.pool)) {
      greened.add(planned.pool);
      addGreenNodes(ordered, planned.pool, placer);
    }
    const { evicted, unplaced } = drainBatch(nodes, placer);
    evictions += evicted.length;
    const batch: SimulatedBatch = {
      pool: planned.pool,
      number: planned.number,
      of: planned.of,
      nodes: planned.nodes,
      evicted: evicted.length,
      pending: unplaced.length,
    };
    batches.push(batch);
    recordPendingWorkloads(index, batch, evicted, unplaced, pendingByWorkload);
    recordHeldBudgets(index, batch, evicted, unplaced, held);
    // A blue node never comes back: what found no place waits for a green node that never frees up.
    stillPending = blueGreen
      ? [...stillPending, ...unplaced.map((u) => u.pod)]
      : upgradeBatch(nodes, placer, [...stillPending, ...unplaced.map((u) => u.pod)]);
  }

  const after = new Map<string, number>();
  for (const pod of stillPending) {
    const key = refKey(index.workloadOf(pod));
    after.set(key, (after.get(key) ?? 0) + 1);
  }
  const pending = [...pendingByWorkload.entries()].map(([key, { first }]) => ({
    ...first,
    pendingAfterRollout: after.get(key) ?? 0,
  }));
  return { batches, pending, heldBudgets: held.budgets, evictions };
}

/** A batch to drain, as the rollout will: its pool, its nodes, and its place among the pool's batches. */
interface PlannedBatch {
  pool: string;
  nodes: string[];
  number: number;
  of: number;
}

/** Per workload key: the first batch that left some of its pods Pending, and every pod left Pending since. */
type PendingByWorkload = Map<string, { first: PendingWorkload; pods: Set<PodRecord> }>;

/** Budgets the drain would wait on for good, each reported once (`seen`). */
interface HeldBudgets {
  budgets: HeldBudget[];
  seen: Set<PdbRecord>;
}

/** Each node as the snapshot has it: free capacity, the pods a drain moves, and what stays through its upgrade. */
function simulatedNodes(snapshot: ClusterSnapshot, index: ClusterIndex): Map<string, SimNode> {
  const simNodes = new Map<string, SimNode>();
  for (const record of snapshot.nodes) {
    let baseCpu = 0;
    let baseMemory = 0;
    let basePods = 0;
    let usedCpu = 0;
    let usedMemory = 0;
    let usedPods = 0;
    const moving: PodRecord[] = [];
    for (const pod of index.podsOnNode(record.name)) {
      if (!isActive(pod)) continue;
      usedCpu += pod.requests.cpuMilli;
      usedMemory += pod.requests.memoryBytes;
      usedPods += 1;
      if (movable(pod)) moving.push(pod);
      else if (pod.owner !== undefined || pod.mirror) {
        // DaemonSet and static pods stay on the node through its drain and upgrade.
        baseCpu += pod.requests.cpuMilli;
        baseMemory += pod.requests.memoryBytes;
        basePods += 1;
      }
    }
    simNodes.set(record.name, {
      record,
      eligible: record.ready === 'True' && !record.unschedulable,
      draining: false,
      upgraded: false,
      freeCpu: record.allocatable.cpuMilli - usedCpu,
      freeMemory: record.allocatable.memoryBytes - usedMemory,
      freePods: record.allocatable.pods - usedPods,
      movable: moving,
      baseCpu,
      baseMemory,
      basePods,
    });
  }
  return simNodes;
}

/** The batches: control plane one node at a time, then each pool under the policy. */
function batchesToDrain(ordered: readonly SimNode[], options: DrainSimulationOptions): PlannedBatch[] {
  const plannedBatches: PlannedBatch[] = [];
  if (options.controlPlane ?? true) {
    const cp = ordered.filter((n) => n.record.role === 'control-plane').map((n) => n.record.name);
    cp.forEach((name, i) =>
      plannedBatches.push({ pool: 'control-plane', nodes: [name], number: i + 1, of: cp.length }),
    );
  }
  const workerPools =
    options.pools ??
    [...new Set(ordered.filter((n) => n.record.role === 'worker').map((n) => n.record.pool))].sort(byName);
  for (const pool of workerPools) {
    const names = ordered.filter((n) => n.record.role === 'worker' && n.record.pool === pool).map((n) => n.record.name);
    const batches = planBatches(names, options.policy);
    batches.forEach((nodes, i) => plannedBatches.push({ pool, nodes, number: i + 1, of: batches.length }));
  }
  return plannedBatches;
}

/**
 * The green nodes of a blue-green pool: a copy of each of its nodes with only the pods that stay through a drain
 * (the DaemonSets start there too), schedulable; and the blue pool cordoned as a whole.
 */
function addGreenNodes(ordered: readonly SimNode[], pool: string, placer: Placer): void {
  const blue = ordered.filter((n) => n.record.role === 'worker' && n.record.pool === pool);
  for (const node of blue) node.draining = true;
  for (const node of blue) {
    placer.add({
      record: { ...node.record, name: `${node.record.name} (green)`, unschedulable: false },
      eligible: node.record.ready === 'True',
      draining: false,
      upgraded: true,
      freeCpu: node.record.allocatable.cpuMilli - node.baseCpu,
      freeMemory: node.record.allocatable.memoryBytes - node.baseMemory,
      freePods: node.record.allocatable.pods - node.basePods,
      movable: [],
      baseCpu: node.baseCpu,
      baseMemory: node.baseMemory,
      basePods: node.basePods,
    });
  }
}

/** Cordons and drains the batch's nodes: each evicted pod, largest first, goes where the scheduler would put it. */
function drainBatch(
  nodes: readonly SimNode[],
  placer: Placer,
): { evicted: PodRecord[]; unplaced: { pod: PodRecord; reason: PendingReason }[] } {
  for (const node of nodes) node.draining = true;
  const evicted = nodes.flatMap((n) => n.movable);
  const unplaced: { pod: PodRecord; reason: PendingReason }[] = [];
  placer.newRound();
  for (const pod of [...evicted].sort((a, b) => size(b) - size(a))) {
    const result = placer.place(pod);
    if (typeof result === 'string') unplaced.push({ pod, reason: result });
    else result.movable.push(pod);
  }
  return { evicted, unplaced };
}

/** Workloads whose pods found no place in this batch. */
function recordPendingWorkloads(
  index: ClusterIndex,
  batch: SimulatedBatch,
  evicted: readonly PodRecord[],
  unplaced: readonly { pod: PodRecord; reason: PendingReason }[],
  pendingByWorkload: PendingByWorkload,
): void {
  const perWorkload = new Map<
    string,
    { workload: ObjectRef; evicted: number; pending: PodRecord[]; reason: PendingReason }
  >();
  for (const pod of evicted) {
    const w = index.workloadOf(pod);
    const key = refKey(w);
    const entry = perWorkload.get(key) ?? {
      workload: w,
      evicted: 0,
      pending: [],
      reason: 'no-matching-node' as PendingReason,
    };
    entry.evicted += 1;
    perWorkload.set(key, entry);
  }
  for (const { pod, reason } of unplaced) {
    const entry = perWorkload.get(refKey(index.workloadOf(pod)));
    if (entry === undefined) continue;
    entry.pending.push(pod);
    entry.reason = reason;
  }
  for (const [key, entry] of perWorkload) {
    if (entry.pending.length === 0) continue;
    const known = pendingByWorkload.get(key);
    if (known === undefined) {
      pendingByWorkload.set(key, {
        first: {
          workload: entry.workload,
          batch,
          evicted: entry.evicted,
          pending: entry.pending.length,
          reason: entry.reason,
          requests: entry.pending[0]?.requests ?? { cpuMilli: 0, memoryBytes: 0 },
          pendingAfterRollout: 0,
        },
        pods: new Set(entry.pending),
      });
    } else for (const p of entry.pending) known.pods.add(p);
  }
}

/** Budgets whose pods lose their place beyond what they allow: the drain waits for them for good. */
function recordHeldBudgets(
  index: ClusterIndex,
  batch: SimulatedBatch,
  evicted: readonly PodRecord[],
  unplaced: readonly { pod: PodRecord; reason: PendingReason }[],
  held: HeldBudgets,
): void {
  const perBudget = new Map<PdbRecord, { evicted: number; pending: number }>();
  for (const pod of evicted) {
    for (const pdb of index.pdbsOf(pod)) {
      const entry = perBudget.get(pdb) ?? { evicted: 0, pending: 0 };
      entry.evicted += 1;
      perBudget.set(pdb, entry);
    }
  }
  for (const { pod } of unplaced)
    for (const pdb of index.pdbsOf(pod)) {
      const entry = perBudget.get(pdb);
      if (entry) entry.pending += 1;
    }
  for (const [pdb, { evicted: e, pending: p }] of perBudget) {
    const allowed = pdb.status.disruptionsAllowed;
    if (allowed > 0 && p > allowed && !held.seen.has(pdb)) {
      held.seen.add(pdb);
      const workloads = new Map<string, ObjectRef>();
      for (const pod of index.podsOf(pdb)) {
        const w = index.workloadOf(pod);
        workloads.set(refKey(w), w);
      }
      held.budgets.push({ pdb, batch, evicted: e, pending: p, allowed, workloads: [...workloads.values()] });
    }
  }
}

/**
 * The batch is upgraded: its nodes come back with only what stays on them, and the Pending pods, largest first, get
 * placed. Returns the pods still Pending.
 */
function upgradeBatch(nodes: readonly SimNode[], placer: Placer, pending: PodRecord[]): PodRecord[] {
  for (const node of nodes) {
    node.draining = false;
    node.movable = [];
    node.freeCpu = node.record.allocatable.cpuMilli - node.baseCpu;
    node.freeMemory = node.record.allocatable.memoryBytes - node.baseMemory;
    node.freePods = node.record.allocatable.pods - node.basePods;
    node.upgraded = true;
    placer.upgraded(node);
  }
  placer.newRound();
  const waiting = pending.sort((a, b) => size(b) - size(a));
  const stillPending: PodRecord[] = [];
  for (const pod of waiting) {
    const result = placer.place(pod);
    if (typeof result === 'string') stillPending.push(pod);
    else result.movable.push(pod);
  }
  return stillPending;
}
