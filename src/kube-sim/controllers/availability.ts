/**
 * The availability monitor: kube-sim's witness of whether an upgrade kept workloads up. It is not a Kubernetes
 * component; it watches the same store the controllers write and records, exactly (at every pod transition, not by
 * sampling), each interval in which a workload's ready replicas fell below what its PodDisruptionBudget promises, or
 * to zero. kup proves a zero-downtime upgrade by an empty list of intervals.
 *
 * Rules, so that ordinary life is not counted as an outage:
 * - a workload is tracked only once it has first had all its desired replicas ready (a workload starting up from
 *   zero is not down);
 * - a scaled-down workload is measured against its new size at once; a scaled-up one against its old size until the
 *   new size has been reached;
 * - the PDB threshold is the PDB's desiredHealthy computed for this workload's size (minAvailable as is or as a
 *   percentage rounded up, size minus maxUnavailable rounded up), capped at that size (a PDB asking for more pods than
 *   the workload has would otherwise report an outage forever);
 * - a workload that is being deleted stops being tracked; DaemonSets are not tracked.
 */
import { matchesLabels } from '../../k8s/label-selector.ts';
import type { KubeObject } from '../model/wire.ts';
import { controllerOf, isRecord, objectKey } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import type { ObjectStore, StoreEvent } from '../store/object-store.ts';
import { isPodReady, pdbSelector, scaledValue } from './disruption.ts';

/** The kinds the monitor tracks (ReplicaSets only when no Deployment owns them). */
export type MonitoredKind = 'Deployment' | 'StatefulSet' | 'ReplicaSet';

/** What an interval records: ready replicas below the PDB's desiredHealthy, or at zero. */
export type OutageType = 'below-pdb' | 'zero';

/** One interval in which a workload was below its PDB or at zero ready replicas. */
export interface OutageInterval {
  namespace: string;
  /** The workload's kind. */
  kind: MonitoredKind;
  name: string;
  type: OutageType;
  /** Start, ms since the epoch (runtime.now()). */
  from: number;
  /** End, ms since the epoch; absent while the interval is still open. */
  to?: number;
  /** The fewest ready replicas seen during the interval. */
  minReady: number;
  /** For 'below-pdb': the threshold the workload fell below (when the interval opened). */
  desiredHealthy?: number;
  /** For 'below-pdb': the PDB. */
  pdb?: string;
}

/** What the monitor knows of one workload. */
export interface WorkloadAvailability {
  namespace: string;
  kind: MonitoredKind;
  name: string;
  /** Desired replicas (spec.replicas). */
  replicas: number;
  /** Pods Ready and not terminating, now. */
  readyReplicas: number;
  /** Whether the workload has reached its desired ready count and is being measured. */
  tracking: boolean;
  /** The fewest ready replicas seen since tracking began; absent before. */
  minReady?: number;
  /** The PDB selecting the workload's pods and the threshold it gives now, if any. */
  pdb?: string;
  desiredHealthy?: number;
  /** Total time below the PDB threshold, ms (open intervals counted up to the report). */
  belowPdbMs: number;
  /** Total time at zero ready replicas, ms. */
  zeroMs: number;
  /** Total time below (below the PDB or at zero, whichever applied), ms. */
  timeBelowMs: number;
  /** The workload was deleted (or is being deleted): no longer tracked. */
  deleted: boolean;
}

/** The monitor's findings. */
export interface AvailabilityReport {
  /** When the report was made, ms since the epoch. */
  at: number;
  workloads: WorkloadAvailability[];
  /** Every interval, in the order they opened. */
  intervals: OutageInterval[];
}

/** A running availability monitor. */
export interface AvailabilityMonitor {
  stop(): void;
  report(): AvailabilityReport;
}

/** A workload a pod belongs to, by its top controller. */
export interface WorkloadRefWithKind {
  kind: string;
  namespace: string;
  name: string;
}

const POD_STORAGE = 'core/pods';
const PDB_STORAGE = 'policy/poddisruptionbudgets';
const WORKLOAD_STORAGES: Readonly<Record<string, MonitoredKind>> = {
  'apps/deployments': 'Deployment',
  'apps/statefulsets': 'StatefulSet',
  'apps/replicasets': 'ReplicaSet',
};

/**
 * The workload a pod belongs to: the Deployment of its ReplicaSet, or its StatefulSet, DaemonSet, ReplicaSet, Job
 * (its controller), or the pod itself when it has no controller.
 */
export function podWorkload(runtime: Pick<SimRuntime, 'store'>, pod: KubeObject): WorkloadRefWithKind {
  const namespace = pod.metadata.namespace ?? '';
  const ref = controllerOf(pod);
  if (!ref) return { kind: 'Pod', namespace, name: pod.metadata.name };
  if (ref.kind === 'ReplicaSet') {
    const rs = runtime.store.get('apps/replicasets', namespace, ref.name);
    const owner = rs ? controllerOf(rs) : undefined;
    if (owner?.kind === 'Deployment') return { kind: 'Deployment', namespace, name: owner.name };
  }
  return { kind: ref.kind, namespace, name: ref.name };
}

function workloadKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

interface OpenInterval {
  record: OutageInterval;
}

interface TrackedWorkload {
  key: string;
  kind: MonitoredKind;
  namespace: string;
  name: string;
  uid: string;
  replicas: number;
  templateLabels: Record<string, string>;
  /** The largest size whose readiness was reached and still applies (min'd with replicas when measuring). */
  reached: number;
  armed: boolean;
  minReady?: number;
  pdb?: { name: string; spec: Record<string, unknown> };
  open: Partial<Record<OutageType, OpenInterval>>;
  belowPdbMs: number;
  zeroMs: number;
  timeBelowMs: number;
  /** Since when either interval has been open. */
  outageSince?: number;
  deleted: boolean;
}

/** The threshold a PDB gives a workload of `replicas` pods, or undefined when the spec cannot give one. */
function pdbThreshold(spec: Record<string, unknown>, replicas: number): number | undefined {
  try {
    const mu = spec['maxUnavailable'];
    if (mu !== undefined && mu !== null) return Math.max(0, replicas - scaledValue(mu, replicas));
    const ma = spec['minAvailable'];
    if (ma !== undefined && ma !== null) return scaledValue(ma, replicas);
  } catch {
    // An invalid PDB protects nothing the monitor can measure.
  }
  return undefined;
}

function templateLabelsOf(obj: KubeObject): Record<string, string> {
  const template = obj.spec?.['template'];
  const meta = isRecord(template) ? template['metadata'] : undefined;
  const labels = isRecord(meta) ? meta['labels'] : undefined;
  const out: Record<string, string> = {};
  if (isRecord(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Starts the availability monitor. It only reads the store (from its synchronous listener, which is what makes it
 * exact), so it can run beside any set of controllers.
 */
export function startAvailabilityMonitor(runtime: SimRuntime): AvailabilityMonitor {
  const monitor = new StoreAvailabilityMonitor(runtime);
  monitor.start();
  return monitor;
}

/**
 * The monitor's state (the workloads it tracks, ready pods per workload, PDBs per namespace, the outage intervals
 * recorded) and its parts: a workload's PDB and threshold, evaluating a workload (outages open and close), the
 * store's events, and the report.
 */
class StoreAvailabilityMonitor implements AvailabilityMonitor {
  private readonly store: ObjectStore;
  private readonly workloads = new Map<string, TrackedWorkload>();
  private readonly byNamespace = new Map<string, Set<string>>();
  /** Ready, non-terminating pods per workload key (kept for workloads not seen yet, too). */
  private readonly readyCount = new Map<string, number>();
  /** Per pod (store key): the workload it counts for, and whether it counts now. */
  private readonly pods = new Map<string, { uid: string; workload: string | undefined; counted: boolean }>();
  /** PDBs per namespace. */
  private readonly pdbs = new Map<string, Map<string, KubeObject>>();
  private readonly intervals: OutageInterval[] = [];
  private stopped = false;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly runtime: SimRuntime) {
    this.store = runtime.store;
  }

  /** Follows the store's events, then counts what exists already. */
  start(): void {
    const { store } = this;
    this.unsubscribe = store.subscribe((event) => this.onStoreEvent(event));

    // What exists already: PDBs, then workloads, then pods (each pod's count re-evaluates its workload).
    for (const pdb of this.store.all(PDB_STORAGE)) {
      let set = this.pdbs.get(pdb.metadata.namespace ?? '');
      if (!set) this.pdbs.set(pdb.metadata.namespace ?? '', (set = new Map<string, KubeObject>()));
      set.set(pdb.metadata.name, pdb);
    }
    for (const [storage, kind] of Object.entries(WORKLOAD_STORAGES)) {
      for (const obj of this.store.all(storage))
        this.onWorkload({ type: 'ADDED', object: obj, revision: 0, storage }, kind);
    }
    for (const pod of this.store.all(POD_STORAGE))
      this.onPod({ type: 'ADDED', object: pod, revision: 0, storage: POD_STORAGE });
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
  }

  report(): AvailabilityReport {
    const at = this.runtime.now();
    const list: WorkloadAvailability[] = [];
    for (const w of this.workloads.values()) {
      const openMs = (type: OutageType) => {
        const open = w.open[type];
        return open ? at - open.record.from : 0;
      };
      const threshold = this.thresholdOf(w);
      list.push({
        namespace: w.namespace,
        kind: w.kind,
        name: w.name,
        replicas: w.replicas,
        readyReplicas: this.ready(w.key),
        tracking: w.armed && !w.deleted,
        ...(w.minReady !== undefined ? { minReady: w.minReady } : {}),
        ...(w.pdb ? { pdb: w.pdb.name, ...(threshold !== undefined ? { desiredHealthy: threshold } : {}) } : {}),
        belowPdbMs: w.belowPdbMs + openMs('below-pdb'),
        zeroMs: w.zeroMs + openMs('zero'),
        timeBelowMs: w.timeBelowMs + (w.outageSince !== undefined ? at - w.outageSince : 0),
        deleted: w.deleted,
      });
    }
    list.sort(
      (a, b) => a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
    );
    return { at, workloads: list, intervals: this.intervals.map((i) => ({ ...i })) };
  }

  private ready(key: string): number {
    return this.readyCount.get(key) ?? 0;
  }

  private monitoredKeyOfPod(pod: KubeObject): string | undefined {
    const w = podWorkload(this.runtime, pod);
    if (w.kind !== 'Deployment' && w.kind !== 'StatefulSet' && w.kind !== 'ReplicaSet') return undefined;
    return workloadKey(w.kind, w.namespace, w.name);
  }

  private counts(pod: KubeObject): boolean {
    return !pod.metadata.deletionTimestamp && isPodReady(pod);
  }

  private choosePdb(w: TrackedWorkload): void {
    let best: { name: string; spec: Record<string, unknown>; threshold: number } | undefined;
    const size = Math.max(w.replicas, 1);
    for (const pdb of this.pdbs.get(w.namespace)?.values() ?? []) {
      const selector = pdbSelector(pdb);
      if (selector instanceof Error || !matchesLabels(selector, w.templateLabels)) continue;
      const spec = pdb.spec ?? {};
      const threshold = pdbThreshold(spec, size);
      if (threshold === undefined) continue;
      // Several PDBs: the strictest one is the promise that can be broken first.
      if (!best || threshold > best.threshold || (threshold === best.threshold && pdb.metadata.name < best.name)) {
        best = { name: pdb.metadata.name, spec, threshold };
      }
    }
    w.pdb = best ? { name: best.name, spec: best.spec } : undefined;
  }

  private baselineOf(w: TrackedWorkload): number {
    return Math.min(w.replicas, w.reached);
  }

  private thresholdOf(w: TrackedWorkload): number | undefined {
    if (!w.pdb) return undefined;
    const baseline = this.baselineOf(w);
    const t = pdbThreshold(w.pdb.spec, baseline);
    return t === undefined ? undefined : Math.min(t, baseline);
  }

  private close(w: TrackedWorkload, type: OutageType, now: number): void {
    const open = w.open[type];
    if (!open) return;
    open.record.to = now;
    const ms = now - open.record.from;
    if (type === 'below-pdb') w.belowPdbMs += ms;
    else w.zeroMs += ms;
    delete w.open[type];
  }

  private evaluate(w: TrackedWorkload): void {
    if (w.deleted) return;
    const now = this.runtime.now();
    const n = this.ready(w.key);
    if (n >= w.replicas) {
      w.armed = true;
      w.reached = w.replicas;
    }
    if (!w.armed) return;
    w.minReady = w.minReady === undefined ? n : Math.min(w.minReady, n);
    const baseline = this.baselineOf(w);
    const threshold = this.thresholdOf(w);
    const below = threshold !== undefined && threshold > 0 && n < threshold;
    const zero = baseline > 0 && n === 0;
    const want: Record<OutageType, boolean> = { 'below-pdb': below, zero };
    for (const type of ['below-pdb', 'zero'] as const) {
      const open = w.open[type];
      if (want[type] && !open) {
        const record: OutageInterval = {
          namespace: w.namespace,
          kind: w.kind,
          name: w.name,
          type,
          from: now,
          minReady: n,
          ...(type === 'below-pdb' ? { desiredHealthy: threshold, pdb: w.pdb?.name } : {}),
        };
        this.intervals.push(record);
        w.open[type] = { record };
      } else if (!want[type] && open) {
        this.close(w, type, now);
      } else if (open) {
        open.record.minReady = Math.min(open.record.minReady, n);
      }
    }
    const inOutage = below || zero;
    if (inOutage && w.outageSince === undefined) w.outageSince = now;
    if (!inOutage && w.outageSince !== undefined) {
      w.timeBelowMs += now - w.outageSince;
      w.outageSince = undefined;
    }
  }

  private end(w: TrackedWorkload): void {
    if (w.deleted) return;
    const now = this.runtime.now();
    this.close(w, 'below-pdb', now);
    this.close(w, 'zero', now);
    if (w.outageSince !== undefined) {
      w.timeBelowMs += now - w.outageSince;
      w.outageSince = undefined;
    }
    w.deleted = true;
  }

  private onWorkload(event: StoreEvent, kind: MonitoredKind): void {
    const obj = event.object;
    const namespace = obj.metadata.namespace ?? '';
    const key = workloadKey(kind, namespace, obj.metadata.name);
    const existing = this.workloads.get(key);
    if (kind === 'ReplicaSet' && controllerOf(obj)?.kind === 'Deployment') {
      // Part of a Deployment: measured there. (A ReplicaSet adopted by a Deployment stops being its own workload.)
      if (existing) this.end(existing);
      return;
    }
    if (event.type === 'DELETED' || obj.metadata.deletionTimestamp) {
      if (existing) this.end(existing);
      return;
    }
    let w = existing;
    let created = false;
    if (!w || w.uid !== obj.metadata.uid) {
      created = true;
      if (w) this.end(w);
      w = {
        key,
        kind,
        namespace,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
        replicas: 0,
        templateLabels: {},
        reached: 0,
        armed: false,
        open: {},
        belowPdbMs: 0,
        zeroMs: 0,
        timeBelowMs: 0,
        deleted: false,
      };
      this.workloads.set(key, w);
      let set = this.byNamespace.get(namespace);
      if (!set) this.byNamespace.set(namespace, (set = new Set()));
      set.add(key);
    }
    const replicas = typeof obj.spec?.['replicas'] === 'number' ? obj.spec['replicas'] : 1;
    const labels = templateLabelsOf(obj);
    // Controllers write workload status often: look for the PDB only when what it is matched on changed.
    const labelsChanged = created || JSON.stringify(labels) !== JSON.stringify(w.templateLabels);
    w.replicas = replicas;
    w.templateLabels = labels;
    if (labelsChanged) this.choosePdb(w);
    this.evaluate(w);
  }

  private onPod(event: StoreEvent): void {
    const pod = event.object;
    const podKey = objectKey(pod.metadata.namespace, pod.metadata.name);
    let state = this.pods.get(podKey);
    if (event.type === 'DELETED') {
      if (state?.counted && state.workload) this.adjust(state.workload, -1);
      this.pods.delete(podKey);
      return;
    }
    const ownersChanged =
      !state || state.uid !== pod.metadata.uid || controllerOf(event.previous ?? pod)?.uid !== controllerOf(pod)?.uid;
    if (ownersChanged) {
      if (state?.counted && state.workload) this.adjust(state.workload, -1);
      state = { uid: pod.metadata.uid, workload: this.monitoredKeyOfPod(pod), counted: false };
      this.pods.set(podKey, state);
    }
    if (!state) return;
    const now = this.counts(pod);
    if (now !== state.counted) {
      state.counted = now;
      if (state.workload) this.adjust(state.workload, now ? 1 : -1);
    }
  }

  private adjust(key: string, delta: number): void {
    this.readyCount.set(key, this.ready(key) + delta);
    const w = this.workloads.get(key);
    if (w) this.evaluate(w);
  }

  private onPdb(event: StoreEvent): void {
    const pdb = event.object;
    const namespace = pdb.metadata.namespace ?? '';
    let set = this.pdbs.get(namespace);
    if (!set) this.pdbs.set(namespace, (set = new Map<string, KubeObject>()));
    const before = set.get(pdb.metadata.name);
    if (event.type === 'DELETED') set.delete(pdb.metadata.name);
    else {
      // Status writes (the disruption controller's) leave the spec as it was: nothing to redo.
      set.set(pdb.metadata.name, pdb);
      if (before && before.spec === pdb.spec) return;
    }
    // Only the workloads this PDB selects (now or before) can change their choice.
    const selectors = [pdbSelector(pdb), ...(before ? [pdbSelector(before)] : [])];
    for (const key of this.byNamespace.get(namespace) ?? []) {
      const w = this.workloads.get(key);
      if (!w || w.deleted) continue;
      const affected =
        w.pdb?.name === pdb.metadata.name ||
        selectors.some((s) => !(s instanceof Error) && matchesLabels(s, w.templateLabels));
      if (!affected) continue;
      this.choosePdb(w);
      this.evaluate(w);
    }
  }

  private onStoreEvent(event: StoreEvent): void {
    if (this.stopped) return;
    if (event.storage === POD_STORAGE) this.onPod(event);
    else if (event.storage === PDB_STORAGE) this.onPdb(event);
    else {
      const kind = WORKLOAD_STORAGES[event.storage];
      if (kind) this.onWorkload(event, kind);
    }
  }
}
