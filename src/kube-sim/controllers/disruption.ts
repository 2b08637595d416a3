/**
 * The disruption controller of kube-controller-manager (`pkg/controller/disruption`): keeps the status of every
 * PodDisruptionBudget in line with the pods it selects, so that the Eviction API (`api/eviction.ts`) can decide from
 * `status.disruptionsAllowed` alone, as the real apiserver does.
 *
 * It is event-driven. The controller keeps, in memory, which pods each PDB selects (PDBs are indexed per namespace by
 * one `key=value` their selector pins, so a pod event only tests the few PDBs that can select it), re-evaluates a PDB
 * only when a pod it selects changed in a way that matters (labels, readiness, termination, controller, existence),
 * and debounces through a WorkQueue. Evaluating a PDB reads only its own pods.
 *
 * Also here, because the Eviction API shares them (as upstream shares `component-helpers/apps/poddisruptionbudget`):
 * pod readiness, the PDB status shape and its DisruptionAllowed condition.
 */
import { fromLabelSelectorObject, matchesLabels, equalityValue } from '../../k8s/label-selector.ts';
import type { LabelSelector, NothingSelector } from '../../k8s/label-selector.ts';
import { rfc3339 } from '../api/registry.ts';
import { ALL_RESOURCES } from '../api/resources.ts';
import type { KubeObject, OwnerReference } from '../model/wire.ts';
import { controllerOf, isRecord, objectKey } from '../model/wire.ts';
import type { Cancel, SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import type { ObjectStore, StoreEvent } from '../store/object-store.ts';
import { WorkQueue } from './work-queue.ts';

/**
 * How long an entry of `status.disruptedPods` keeps its pod out of `currentHealthy` while the pod is not yet marked
 * for deletion (upstream `DeletionTimeout`: 2 minutes). Part of the controller's contract, not a simulated duration.
 */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

/** How long a pod keeps a DisruptionTarget=True condition without being deleted before it is reset (upstream: 2 min). */
export const STALE_POD_DISRUPTION_TIMEOUT_MS = 2 * 60 * 1000;

/** The PDB condition the controller maintains. */
export const DISRUPTION_ALLOWED_CONDITION = 'DisruptionAllowed';

/** Reasons of the DisruptionAllowed condition (policy/v1 constants). */
export type DisruptionAllowedReason = 'SufficientPods' | 'InsufficientPods' | 'SyncFailed';

/** A metav1.Condition of a PDB. */
export interface PdbCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** policy/v1 PodDisruptionBudgetStatus. */
export interface PdbStatus {
  observedGeneration?: number;
  /** Pod name -> when the Eviction API admitted its eviction (RFC 3339). */
  disruptedPods?: Record<string, string>;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  conditions?: PdbCondition[];
}

const PDB_STORAGE = 'policy/poddisruptionbudgets';
const POD_STORAGE = 'core/pods';
/** Workload storages whose scale feeds `expectedPods`. */
const SCALE_STORAGES = new Set(['apps/deployments', 'apps/replicasets', 'apps/statefulsets']);
const COMPONENT = 'controllermanager';

/** Whether a pod has condition Ready=True (upstream `podutil.IsPodReady`). */
export function isPodReady(pod: KubeObject): boolean {
  const conditions = pod.status?.['conditions'];
  if (!Array.isArray(conditions)) return false;
  return conditions.some((c: unknown) => isRecord(c) && c['type'] === 'Ready' && c['status'] === 'True');
}

/** Reads a PDB's status, with the zero values of the fields the apiserver always serves. */
export function pdbStatusOf(pdb: KubeObject): PdbStatus {
  const s = pdb.status ?? {};
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const disrupted: Record<string, string> = {};
  if (isRecord(s['disruptedPods'])) {
    for (const [name, at] of Object.entries(s['disruptedPods'])) if (typeof at === 'string') disrupted[name] = at;
  }
  const conditions = Array.isArray(s['conditions'])
    ? (s['conditions'].filter((c) => isRecord(c) && typeof c['type'] === 'string') as PdbCondition[])
    : [];
  return {
    observedGeneration: num(s['observedGeneration']),
    disruptedPods: disrupted,
    disruptionsAllowed: num(s['disruptionsAllowed']),
    currentHealthy: num(s['currentHealthy']),
    desiredHealthy: num(s['desiredHealthy']),
    expectedPods: num(s['expectedPods']),
    conditions,
  };
}

/** A PDB status in the apiserver's JSON shape: Go field order, `omitempty` fields left out when empty. */
export function pdbStatusJson(s: PdbStatus): Record<string, unknown> {
  const disrupted = s.disruptedPods ?? {};
  return {
    ...(s.observedGeneration ? { observedGeneration: s.observedGeneration } : {}),
    ...(Object.keys(disrupted).length > 0 ? { disruptedPods: disrupted } : {}),
    disruptionsAllowed: s.disruptionsAllowed,
    currentHealthy: s.currentHealthy,
    desiredHealthy: s.desiredHealthy,
    expectedPods: s.expectedPods,
    ...(s.conditions && s.conditions.length > 0 ? { conditions: s.conditions.map(conditionJson) } : {}),
  };
}

function conditionJson(c: PdbCondition): PdbCondition {
  return {
    type: c.type,
    status: c.status,
    ...(c.observedGeneration ? { observedGeneration: c.observedGeneration } : {}),
    lastTransitionTime: c.lastTransitionTime,
    reason: c.reason ?? '',
    message: c.message ?? '',
  };
}

/**
 * apimachinery `meta.SetStatusCondition`: adds or updates the condition of that type; lastTransitionTime changes only
 * when the status does. Returns a new list.
 */
export function setStatusCondition(
  conditions: readonly PdbCondition[],
  next: Omit<PdbCondition, 'lastTransitionTime'>,
  now: number,
): PdbCondition[] {
  const at = conditions.findIndex((c) => c.type === next.type);
  if (at < 0) return [...conditions, { ...next, lastTransitionTime: rfc3339(now) }];
  const existing = conditions[at] as PdbCondition;
  const updated: PdbCondition = {
    ...existing,
    status: next.status,
    lastTransitionTime: existing.status !== next.status ? rfc3339(now) : existing.lastTransitionTime,
    reason: next.reason,
    message: next.message,
    ...(next.observedGeneration !== undefined ? { observedGeneration: next.observedGeneration } : {}),
  };
  if (!next.observedGeneration) delete updated.observedGeneration;
  return conditions.map((c, i) => (i === at ? updated : c));
}

/**
 * `pdbhelper.UpdateDisruptionAllowedCondition`: True/SufficientPods when disruptions are allowed, else
 * False/InsufficientPods, stamped with the status' observedGeneration.
 */
export function withDisruptionAllowedCondition(status: PdbStatus, now: number): PdbStatus {
  const allowed = status.disruptionsAllowed > 0;
  return {
    ...status,
    conditions: setStatusCondition(
      status.conditions ?? [],
      {
        type: DISRUPTION_ALLOWED_CONDITION,
        status: allowed ? 'True' : 'False',
        reason: allowed ? 'SufficientPods' : 'InsufficientPods',
        message: '',
        ...(status.observedGeneration ? { observedGeneration: status.observedGeneration } : {}),
      },
      now,
    ),
  };
}

/** `pdbhelper.ConditionsAreUpToDate`. */
function conditionsAreUpToDate(status: PdbStatus, generation: number): boolean {
  const cond = status.conditions?.find((c) => c.type === DISRUPTION_ALLOWED_CONDITION);
  if (!cond || (status.observedGeneration ?? 0) !== generation) return false;
  if (status.disruptionsAllowed > 0) return cond.status === 'True' && cond.reason === 'SufficientPods';
  return cond.status === 'False' && cond.reason === 'InsufficientPods';
}

/**
 * The selector of a PDB (policy/v1 semantics: null selects nothing, `{}` every pod of the namespace), or the error an
 * invalid one gives.
 */
export function pdbSelector(pdb: KubeObject): LabelSelector | NothingSelector | Error {
  const raw = pdb.spec?.['selector'];
  if (raw === undefined || raw === null) return 'nothing';
  if (!isRecord(raw)) return new Error('invalid label selector');
  // Stored objects are immutable, so a selector object parses to the same result for as long as it lives: evictions
  // and the monitors test every PDB of a namespace, and parsing each time would dominate.
  let parsed = parsedSelectors.get(raw);
  if (!parsed) {
    try {
      parsed = fromLabelSelectorObject(raw);
    } catch (err) {
      parsed = err instanceof Error ? err : new Error(String(err));
    }
    parsedSelectors.set(raw, parsed);
  }
  return parsed;
}

const parsedSelectors = new WeakMap<object, LabelSelector | NothingSelector | Error>();

/**
 * intstr `GetScaledValueFromIntOrPercent(value, total, roundUp=true)`: an integer as is, a percentage of `total`
 * rounded up. Throws with upstream's message for anything else.
 */
export function scaledValue(value: unknown, total: number): number {
  if (typeof value === 'number') return Math.trunc(value);
  if (typeof value !== 'string')
    throw new Error('invalid value for IntOrString: invalid type: neither int nor percentage');
  if (!value.endsWith('%')) throw new Error('invalid value for IntOrString: invalid type: string is not a percentage');
  const digits = value.slice(0, -1);
  if (!/^[+-]?\d+$/.test(digits)) {
    throw new Error(
      `invalid value for IntOrString: invalid value ${JSON.stringify(value)}: strconv.Atoi: parsing ${JSON.stringify(digits)}: invalid syntax`,
    );
  }
  return Math.ceil((Number(digits) * total) / 100);
}

/** What upstream's controller finders return: a controller and its scale. */
interface ControllerScale {
  uid: string;
  scale: number;
}

function replicasOf(obj: KubeObject): number {
  const r = obj.spec?.['replicas'];
  return typeof r === 'number' ? r : 1;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function isKind(ref: OwnerReference, kind: string, groups: readonly string[]): boolean {
  return ref.kind === kind && groups.includes(groupOf(ref.apiVersion));
}

/**
 * The controller of a pod and its scale, through upstream's finders in order: ReplicationController (not simulated),
 * Deployment (via its ReplicaSet), ReplicaSet without a Deployment, StatefulSet, then any kind with a scale
 * subresource. `undefined` when the controller was not found; throws when its kind has no scale.
 */
function findControllerScale(runtime: SimRuntime, ref: OwnerReference, namespace: string): ControllerScale | undefined {
  const store = runtime.store;
  if (isKind(ref, 'ReplicaSet', ['apps', 'extensions'])) {
    const rs = store.get('apps/replicasets', namespace, ref.name);
    if (!rs || rs.metadata.uid !== ref.uid) return scaleController(runtime, ref, namespace);
    const rsController = controllerOf(rs);
    if (rsController && isKind(rsController, 'Deployment', ['apps', 'extensions'])) {
      const d = store.get('apps/deployments', namespace, rsController.name);
      if (d && d.metadata.uid === rsController.uid) return { uid: d.metadata.uid, scale: replicasOf(d) };
    }
    // getPodReplicaSet skips a ReplicaSet whose controller is (by kind) a Deployment, even a missing one.
    if (rsController?.kind === 'Deployment') return scaleController(runtime, ref, namespace);
    return { uid: rs.metadata.uid, scale: replicasOf(rs) };
  }
  if (isKind(ref, 'StatefulSet', ['apps'])) {
    const ss = store.get('apps/statefulsets', namespace, ref.name);
    if (ss && ss.metadata.uid === ref.uid) return { uid: ss.metadata.uid, scale: replicasOf(ss) };
  }
  return scaleController(runtime, ref, namespace);
}

/** Upstream `getScaleController`: the scale subresource of whatever kind the controller is. */
function scaleController(runtime: SimRuntime, ref: OwnerReference, namespace: string): ControllerScale | undefined {
  const group = groupOf(ref.apiVersion);
  const version = ref.apiVersion.slice(ref.apiVersion.indexOf('/') + 1);
  const def = ALL_RESOURCES.find((r) => r.kind === ref.kind && r.group === group && r.version === r.storageVersion);
  if (!def)
    throw new Error(
      `no matches for kind "${ref.kind}" in version "${ref.apiVersion.includes('/') ? `${group}/${version}` : version}"`,
    );
  if (!def.subresources.includes('scale')) {
    throw new Error(
      `${def.group ? `${def.plural}.${def.group}` : def.plural} does not implement the scale subresource`,
    );
  }
  const obj = runtime.store.get(def.storage, namespace, ref.name);
  if (!obj || obj.metadata.uid !== ref.uid) return undefined;
  return { uid: obj.metadata.uid, scale: replicasOf(obj) };
}

/** Go's `%v` of a *metav1.LabelSelector, for the UnmanagedPods event. */
function goSelectorString(raw: unknown): string {
  if (!isRecord(raw)) return 'nil';
  const labels = isRecord(raw['matchLabels']) ? raw['matchLabels'] : {};
  const ml = Object.keys(labels)
    .sort()
    .map((k) => `${k}: ${String(labels[k])},`)
    .join('');
  const exprs = Array.isArray(raw['matchExpressions']) ? raw['matchExpressions'] : [];
  const me = exprs
    .filter(isRecord)
    .map(
      (e) =>
        `LabelSelectorRequirement{Key:${String(e['key'])},Operator:${String(e['operator'])},Values:[${Array.isArray(e['values']) ? e['values'].join(' ') : ''}],},`,
    )
    .join('');
  return `&LabelSelector{MatchLabels:map[string]string{${ml}},MatchExpressions:[]LabelSelectorRequirement{${me}},}`;
}

/**
 * The pods a PDB selects, kept current from the pod events (the objects, not their names: a sync reads no store), with
 * the tallies its status needs kept as they change. A sync then costs the budget's disruptedPods and controllers, not
 * its pods: the status of a 200-pod budget is computed after every eviction, replacement and readiness change.
 */
export class PdbMembers {
  private readonly pods = new Map<string, KubeObject>();
  private liveReadyCount = 0;
  /** Controller uid -> its reference (from the latest member seen) and how many members it controls. */
  private readonly byController = new Map<string, { ref: OwnerReference; count: number }>();
  private readonly unmanagedNames = new Set<string>();

  get size(): number {
    return this.pods.size;
  }

  /** Members neither being deleted nor not Ready: the healthy ones, before `disruptedPods` is applied. */
  get liveReady(): number {
    return this.liveReadyCount;
  }

  /** The controllers of the members. */
  *controllers(): IterableIterator<OwnerReference> {
    for (const entry of this.byController.values()) yield entry.ref;
  }

  /** A member the controller of that uid controls. */
  controlledBy(uid: string): KubeObject | undefined {
    for (const pod of this.pods.values()) if (controllerOf(pod)?.uid === uid) return pod;
    return undefined;
  }

  /** Members no controller owns. */
  get unmanaged(): ReadonlySet<string> {
    return this.unmanagedNames;
  }

  get(name: string): KubeObject | undefined {
    return this.pods.get(name);
  }

  names(): IterableIterator<string> {
    return this.pods.keys();
  }

  /** Adds a pod, or replaces the member of that name with its new version. */
  put(pod: KubeObject): void {
    const name = pod.metadata.name;
    this.remove(name);
    this.pods.set(name, pod);
    if (isLiveAndReady(pod)) this.liveReadyCount += 1;
    const ref = controllerOf(pod);
    if (!ref) {
      this.unmanagedNames.add(name);
      return;
    }
    const entry = this.byController.get(ref.uid);
    if (entry) {
      entry.ref = ref;
      entry.count += 1;
    } else this.byController.set(ref.uid, { ref, count: 1 });
  }

  remove(name: string): void {
    const pod = this.pods.get(name);
    if (!pod) return;
    this.pods.delete(name);
    if (isLiveAndReady(pod)) this.liveReadyCount -= 1;
    const ref = controllerOf(pod);
    if (!ref) {
      this.unmanagedNames.delete(name);
      return;
    }
    const entry = this.byController.get(ref.uid);
    if (entry && --entry.count === 0) this.byController.delete(ref.uid);
  }

  clear(): void {
    this.pods.clear();
    this.byController.clear();
    this.unmanagedNames.clear();
    this.liveReadyCount = 0;
  }
}

/** Counts towards a budget's currentHealthy: not being deleted, and Ready. */
function isLiveAndReady(pod: KubeObject): boolean {
  return !pod.metadata.deletionTimestamp && isPodReady(pod);
}

/** A PDB as the controller indexes it. */
interface TrackedPdb {
  key: string;
  namespace: string;
  name: string;
  /** The `spec.selector` object the selector was parsed from (stored objects are immutable: identity means unchanged). */
  selectorSource: unknown;
  selector: LabelSelector | NothingSelector | Error;
  /** The `key\0value` the selector pins, under which the namespace index files it; undefined: tested for every pod. */
  pin: string | undefined;
  /** The pods it selects. */
  members: PdbMembers;
  /** Event notices of the last sync (id -> message), so a condition is reported once, not at every sync. */
  notices: Map<string, string>;
  /** When a recheck (a disruptedPods entry expiring) is scheduled. */
  recheckAt?: number;
  cancelRecheck?: Cancel;
}

interface NamespaceIndex {
  byPin: Map<string, Set<string>>;
  unpinned: Set<string>;
}

function podReadyChanged(a: KubeObject, b: KubeObject): boolean {
  return isPodReady(a) !== isPodReady(b);
}

function sameLabels(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
): boolean {
  if (a === b) return true;
  const ak = Object.keys(a ?? {});
  const bk = Object.keys(b ?? {});
  if (ak.length !== bk.length) return false;
  return ak.every((k) => (a ?? {})[k] === (b ?? {})[k]);
}

/** The DisruptionTarget condition of a pod, if True and not the scheduler's (upstream ignores PreemptionByScheduler). */
function staleCandidate(pod: KubeObject): { since: number } | undefined {
  if (pod.metadata.deletionTimestamp) return undefined;
  const conditions = pod.status?.['conditions'];
  if (!Array.isArray(conditions)) return undefined;
  const cond: unknown = (conditions as unknown[]).find((c) => isRecord(c) && c['type'] === 'DisruptionTarget');
  if (!isRecord(cond) || cond['status'] !== 'True' || cond['reason'] === 'PreemptionByScheduler') return undefined;
  const t = typeof cond['lastTransitionTime'] === 'string' ? Date.parse(cond['lastTransitionTime']) : NaN;
  return { since: Number.isFinite(t) ? t : 0 };
}

/**
 * Starts the disruption controller: every PDB's status (expectedPods, desiredHealthy, currentHealthy,
 * disruptionsAllowed, disruptedPods, observedGeneration, the DisruptionAllowed condition) follows its pods, and a pod
 * left with DisruptionTarget=True but never deleted has the condition reset after 2 minutes. Returns a stop function.
 */
export function startDisruptionController(runtime: SimRuntime): () => void {
  const controller = new DisruptionController(runtime);
  controller.start();
  return () => controller.stop();
}

/**
 * The controller's state (the PDBs and the pods each selects, indexed per namespace and label; the stale checks due)
 * and its parts: the index of PDBs, the store's events, a PDB's sync, and the stale DisruptionTarget conditions.
 */
class DisruptionController {
  private readonly store: ObjectStore;
  private readonly pdbDef = kindDef('PodDisruptionBudget');
  private readonly podDef = kindDef('Pod');
  private readonly pdbs = new Map<string, TrackedPdb>();
  private readonly namespaces = new Map<string, NamespaceIndex>();
  /** Pod key -> keys of the PDBs selecting it (only pods some PDB selects). */
  private readonly podPdbs = new Map<string, Set<string>>();
  /** Pods already warned about matching several PDBs (upstream warns on every event: once is enough). */
  private readonly warnedMultiple = new Set<string>();
  /**
   * Pod names per namespace per `key\0value` label: a new PDB finds its pods through the label its selector pins
   * instead of scanning the namespace (5,000 PDBs over 50,000 pods would otherwise be quadratic).
   */
  private readonly podsByLabel = new Map<string, Map<string, Set<string>>>();
  /** Pod key -> when its stale DisruptionTarget check is due. */
  private readonly staleChecks = new Map<string, { at: number; cancel: Cancel }>();
  private stopped = false;
  private readonly queue: WorkQueue;
  private readonly staleQueue: WorkQueue;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly runtime: SimRuntime) {
    this.store = runtime.store;
    this.queue = new WorkQueue(
      runtime,
      (key) => {
        if (!this.stopped) this.sync(key);
      },
      { name: 'disruption' },
    );
    this.staleQueue = new WorkQueue(
      runtime,
      (key) => {
        if (!this.stopped) this.syncStalePod(key);
      },
      { name: 'disruption-stale-pod' },
    );
  }

  /** Follows the store's events, indexes the pods there are, then tracks and syncs every PDB. */
  start(): void {
    const { store } = this;
    this.unsubscribe = store.subscribe((event) => {
      if (this.stopped) return;
      if (event.storage === POD_STORAGE) this.onPod(event);
      else if (event.storage === PDB_STORAGE) this.onPdb(event);
      else if (SCALE_STORAGES.has(event.storage)) this.onWorkload(event);
    });
    for (const pod of store.all(POD_STORAGE)) {
      this.indexLabels(pod.metadata.namespace ?? '', pod.metadata.name, pod.metadata.labels, true);
      const stale = staleCandidate(pod);
      if (stale)
        this.scheduleStaleCheck(
          objectKey(pod.metadata.namespace, pod.metadata.name),
          stale.since + STALE_POD_DISRUPTION_TIMEOUT_MS,
        );
    }
    // Pods first: tracking a PDB finds its pods through the label index.
    for (const pdb of store.all(PDB_STORAGE)) {
      this.trackPdb(pdb);
      this.queue.add(objectKey(pdb.metadata.namespace, pdb.metadata.name));
    }
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.pdbs.values()) t.cancelRecheck?.();
    for (const check of this.staleChecks.values()) check.cancel();
    this.staleChecks.clear();
  }

  // ---- index of PDBs -----------------------------------------------------------------------------------------

  private nsIndex(namespace: string): NamespaceIndex {
    let index = this.namespaces.get(namespace);
    if (!index) this.namespaces.set(namespace, (index = { byPin: new Map(), unpinned: new Set() }));
    return index;
  }

  private unfile(t: TrackedPdb): void {
    const index = this.namespaces.get(t.namespace);
    if (!index) return;
    if (t.pin === undefined) index.unpinned.delete(t.key);
    else {
      const set = index.byPin.get(t.pin);
      set?.delete(t.key);
      if (set && set.size === 0) index.byPin.delete(t.pin);
    }
  }

  private file(t: TrackedPdb): void {
    // Invalid and null selectors select nothing: no need to test pods against them.
    if (t.selector instanceof Error || t.selector === 'nothing') return;
    const index = this.nsIndex(t.namespace);
    if (t.pin === undefined) index.unpinned.add(t.key);
    else {
      let set = index.byPin.get(t.pin);
      if (!set) index.byPin.set(t.pin, (set = new Set()));
      set.add(t.key);
    }
  }

  /** The PDBs of the pod's namespace that select it, testing only the candidates the index gives. */
  private matchingPdbs(pod: KubeObject): Set<string> {
    const out = new Set<string>();
    const index = this.namespaces.get(pod.metadata.namespace ?? '');
    if (!index) return out;
    const test = (key: string) => {
      const t = this.pdbs.get(key);
      if (t && selects(t, pod)) out.add(key);
    };
    for (const key of index.unpinned) test(key);
    for (const [k, v] of Object.entries(pod.metadata.labels ?? {})) {
      const set = index.byPin.get(`${k}\u0000${v}`);
      if (set) for (const key of set) test(key);
    }
    return out;
  }

  /** Files the pod (its current version) under the PDBs of `next`, out of the others; returns the previous PDBs. */
  private setMembership(podKey: string, pod: KubeObject, next: Set<string>): Set<string> {
    const previous = this.podPdbs.get(podKey) ?? new Set<string>();
    for (const key of previous) if (!next.has(key)) this.pdbs.get(key)?.members.remove(pod.metadata.name);
    for (const key of next) this.pdbs.get(key)?.members.put(pod);
    if (next.size > 0) this.podPdbs.set(podKey, next);
    else this.podPdbs.delete(podKey);
    return previous;
  }

  private trackPdb(pdb: KubeObject): TrackedPdb {
    const namespace = pdb.metadata.namespace ?? '';
    const key = objectKey(namespace, pdb.metadata.name);
    let t = this.pdbs.get(key);
    const source = pdb.spec?.['selector'];
    if (t && t.selectorSource === source) return t;
    if (!t) {
      t = {
        key,
        namespace,
        name: pdb.metadata.name,
        selectorSource: source,
        selector: 'nothing',
        pin: undefined,
        members: new PdbMembers(),
        notices: new Map(),
      };
      this.pdbs.set(key, t);
    } else {
      this.unfile(t);
    }
    t.selectorSource = source;
    t.selector = pdbSelector(pdb);
    t.pin = pinOf(t.selector);
    this.file(t);
    // A new or changed selector: find its pods once, through the pinned label or else by a scan of the namespace.
    for (const name of t.members.names()) {
      const podKey = objectKey(namespace, name);
      const set = this.podPdbs.get(podKey);
      set?.delete(key);
      if (set && set.size === 0) this.podPdbs.delete(podKey);
    }
    t.members.clear();
    if (!(t.selector instanceof Error) && t.selector !== 'nothing') {
      const pinned =
        t.pin === undefined ? undefined : (this.podsByLabel.get(namespace)?.get(t.pin) ?? new Set<string>());
      const candidates = pinned
        ? [...pinned].map((name) => this.store.get(POD_STORAGE, namespace, name)).filter((p) => p !== undefined)
        : this.store.list(POD_STORAGE, { namespace }).items;
      for (const pod of candidates) {
        if (!selects(t, pod)) continue;
        t.members.put(pod);
        const podKey = objectKey(namespace, pod.metadata.name);
        let set = this.podPdbs.get(podKey);
        if (!set) this.podPdbs.set(podKey, (set = new Set()));
        set.add(key);
      }
    }
    return t;
  }

  private forgetPdb(key: string): void {
    const t = this.pdbs.get(key);
    if (!t) return;
    this.unfile(t);
    for (const name of t.members.names()) {
      const podKey = objectKey(t.namespace, name);
      const set = this.podPdbs.get(podKey);
      set?.delete(key);
      if (set && set.size === 0) this.podPdbs.delete(podKey);
    }
    t.cancelRecheck?.();
    this.pdbs.delete(key);
  }

  // ---- events ------------------------------------------------------------------------------------------------

  private indexLabels(namespace: string, name: string, labels: Record<string, string> | undefined, add: boolean): void {
    let byLabel = this.podsByLabel.get(namespace);
    if (!byLabel) this.podsByLabel.set(namespace, (byLabel = new Map<string, Set<string>>()));
    for (const [k, v] of Object.entries(labels ?? {})) {
      const label = `${k}\u0000${v}`;
      let names = byLabel.get(label);
      if (add) {
        if (!names) byLabel.set(label, (names = new Set()));
        names.add(name);
      } else if (names) {
        names.delete(name);
        if (names.size === 0) byLabel.delete(label);
      }
    }
  }

  private onPod(event: StoreEvent): void {
    const pod = event.object;
    const namespace = pod.metadata.namespace ?? '';
    const podKey = objectKey(namespace, pod.metadata.name);
    if (event.type !== 'MODIFIED' || !sameLabels(event.previous?.metadata.labels, pod.metadata.labels)) {
      if (event.previous) this.indexLabels(namespace, pod.metadata.name, event.previous.metadata.labels, false);
      else if (event.type === 'DELETED') this.indexLabels(namespace, pod.metadata.name, pod.metadata.labels, false);
      if (event.type !== 'DELETED') this.indexLabels(namespace, pod.metadata.name, pod.metadata.labels, true);
    }
    if (event.type === 'DELETED') {
      const previous = this.setMembership(podKey, pod, new Set());
      for (const key of previous) this.queue.add(key);
      this.warnedMultiple.delete(pod.metadata.uid);
      const check = this.staleChecks.get(podKey);
      check?.cancel();
      this.staleChecks.delete(podKey);
      return;
    }
    const before = event.previous;
    let current: Set<string>;
    if (event.type === 'ADDED' || !before || !sameLabels(before.metadata.labels, pod.metadata.labels)) {
      current = this.matchingPdbs(pod);
      const previous = this.setMembership(podKey, pod, current);
      for (const key of previous) this.queue.add(key);
      for (const key of current) this.queue.add(key);
    } else {
      current = this.podPdbs.get(podKey) ?? new Set();
      for (const key of current) this.pdbs.get(key)?.members.put(pod);
      const relevant =
        Boolean(before.metadata.deletionTimestamp) !== Boolean(pod.metadata.deletionTimestamp) ||
        podReadyChanged(before, pod) ||
        controllerOf(before)?.uid !== controllerOf(pod)?.uid;
      if (relevant) for (const key of current) this.queue.add(key);
    }
    if (current.size > 1 && !this.warnedMultiple.has(pod.metadata.uid)) {
      this.warnedMultiple.add(pod.metadata.uid);
      const chosen = [...current].sort()[0] as string;
      const chosenName = this.pdbs.get(chosen)?.name ?? chosen;
      this.runtime.recordEvent(
        pod,
        'Warning',
        'MultiplePodDisruptionBudgets',
        `Pod ${JSON.stringify(namespace)}/${JSON.stringify(pod.metadata.name)} matches multiple PodDisruptionBudgets.  Chose ${JSON.stringify(chosenName)} arbitrarily.`,
        COMPONENT,
      );
    }
    // Checked on a later turn rather than timed now: an eviction sets the condition and deletes the pod at once, so
    // by then there is usually nothing to wait for.
    if (!this.staleChecks.has(podKey) && staleCandidate(pod)) this.staleQueue.add(podKey);
  }

  private onPdb(event: StoreEvent): void {
    const key = objectKey(event.object.metadata.namespace, event.object.metadata.name);
    if (event.type === 'DELETED') {
      this.forgetPdb(key);
      return;
    }
    this.trackPdb(event.object);
    this.queue.add(key);
  }

  private onWorkload(event: StoreEvent): void {
    // Upstream reads controllers' scale only when a PDB syncs; re-syncing the namespace's PDBs on a scale change
    // keeps expectedPods current without waiting for the pod events that follow.
    if (event.type !== 'MODIFIED' || !event.previous) return;
    if (event.previous.spec?.['replicas'] === event.object.spec?.['replicas']) return;
    const index = this.namespaces.get(event.object.metadata.namespace ?? '');
    if (!index) return;
    for (const key of index.unpinned) this.queue.add(key);
    for (const set of index.byPin.values()) for (const key of set) this.queue.add(key);
  }

  // ---- sync --------------------------------------------------------------------------------------------------

  private notify(t: TrackedPdb, pdb: KubeObject, notices: Map<string, Notice>): void {
    for (const [id, n] of notices) {
      if (t.notices.get(id) !== n.message)
        this.runtime.recordEvent(n.about ?? pdb, n.type, n.reason, n.message, COMPONENT);
    }
    t.notices = new Map([...notices].map(([id, n]) => [id, n.message]));
  }

  private writeStatus(pdb: KubeObject, status: PdbStatus): void {
    this.runtime.registry.update(
      this.pdbDef,
      pdb.metadata.namespace,
      pdb.metadata.name,
      { metadata: { resourceVersion: pdb.metadata.resourceVersion }, status: pdbStatusJson(status) },
      { subresource: 'status' },
    );
  }

  /** Upstream `failSafe`: when the status cannot be computed, at least allow no disruption. */
  private failSafe(pdb: KubeObject, err: Error): void {
    const status = pdbStatusOf(pdb);
    this.writeStatus(pdb, {
      ...status,
      disruptionsAllowed: 0,
      conditions: setStatusCondition(
        status.conditions ?? [],
        {
          type: DISRUPTION_ALLOWED_CONDITION,
          status: 'False',
          reason: 'SyncFailed',
          message: err.message,
          ...(status.observedGeneration ? { observedGeneration: status.observedGeneration } : {}),
        },
        this.runtime.now(),
      ),
    });
  }

  private sync(key: string): void {
    const t = this.pdbs.get(key);
    const slash = key.indexOf('/');
    const pdb = this.store.get(PDB_STORAGE, key.slice(0, slash), key.slice(slash + 1));
    if (!pdb || !t) return;
    const notices = new Map<string, Notice>();
    if (t.selector instanceof Error) {
      notices.set('NoPods', {
        reason: 'NoPods',
        type: 'Warning',
        message: `Failed to get pods: ${t.selector.message}`,
      });
      this.notify(t, pdb, notices);
      this.failSafe(pdb, t.selector);
      return;
    }
    const members = t.members;
    if (members.size === 0)
      notices.set('NoPods', { reason: 'NoPods', type: 'Normal', message: 'No matching pods found' });

    let counts: { expected: number; desired: number; unmanaged: boolean };
    try {
      counts = this.expectedPodCount(pdb, members);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      notices.set('CalculateExpectedPodCountFailed', {
        reason: 'CalculateExpectedPodCountFailed',
        type: 'Warning',
        message: `Failed to calculate the number of expected pods: ${e.message}`,
      });
      this.notify(t, pdb, notices);
      this.failSafe(pdb, e);
      return;
    }
    if (counts.unmanaged) {
      notices.set('UnmanagedPods', {
        reason: 'UnmanagedPods',
        type: 'Warning',
        message:
          `Pods selected by this PodDisruptionBudget (selector: ${goSelectorString(pdb.spec?.['selector'])}) were found ` +
          'to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. ' +
          'To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.',
      });
    }

    const now = this.runtime.now();
    const current = pdbStatusOf(pdb);
    const disrupted: Record<string, string> = {};
    let recheckAt: number | undefined;
    const prior = current.disruptedPods ?? {};
    // Healthy: Ready, not being deleted, and not disrupted (an eviction admitted, the pod not yet marked) recently.
    let healthy = members.liveReady;
    for (const [name, at] of Object.entries(prior)) {
      const pod = members.get(name);
      // Only entries of pods the budget still selects and that are not yet being deleted (those have done their job).
      if (!pod || pod.metadata.deletionTimestamp) continue;
      const expires = Date.parse(at) + DELETION_TIMEOUT_MS;
      if (expires > now && isPodReady(pod)) healthy -= 1;
      if (expires < now) {
        notices.set(`NotDeleted/${pod.metadata.name}`, {
          reason: 'NotDeleted',
          type: 'Warning',
          message: `Pod was expected by PDB ${t.namespace}/${t.name} to be deleted but it wasn't`,
          about: pod,
        });
      } else {
        disrupted[name] = at;
        if (recheckAt === undefined || expires < recheckAt) recheckAt = expires;
      }
    }
    this.notify(t, pdb, notices);

    const generation = pdb.metadata.generation ?? 0;
    let allowed = healthy - counts.desired;
    if (counts.expected <= 0 || allowed <= 0) allowed = 0;
    const unchanged =
      current.currentHealthy === healthy &&
      current.desiredHealthy === counts.desired &&
      current.expectedPods === counts.expected &&
      current.disruptionsAllowed === allowed &&
      sameRecord(prior, disrupted) &&
      (current.observedGeneration ?? 0) === generation &&
      conditionsAreUpToDate(current, generation);
    if (!unchanged) {
      this.writeStatus(
        pdb,
        withDisruptionAllowedCondition(
          {
            observedGeneration: generation,
            disruptedPods: disrupted,
            disruptionsAllowed: allowed,
            currentHealthy: healthy,
            desiredHealthy: counts.desired,
            expectedPods: counts.expected,
            conditions: current.conditions ?? [],
          },
          now,
        ),
      );
    }
    if (recheckAt !== undefined) this.scheduleRecheck(t, recheckAt);
  }

  /** Upstream `getExpectedPodCount`; `unmanaged`: some selected pod has no controller. */
  private expectedPodCount(
    pdb: KubeObject,
    members: PdbMembers,
  ): { expected: number; desired: number; unmanaged: boolean } {
    const spec = pdb.spec ?? {};
    const maxUnavailable = spec['maxUnavailable'];
    const minAvailable = spec['minAvailable'];
    if (maxUnavailable !== undefined && maxUnavailable !== null) {
      const { expected, unmanaged } = this.expectedScale(pdb, members);
      const mu = scaledValue(maxUnavailable, expected);
      return { expected, desired: Math.max(0, expected - mu), unmanaged };
    }
    if (minAvailable !== undefined && minAvailable !== null) {
      if (typeof minAvailable === 'number')
        return { expected: members.size, desired: Math.trunc(minAvailable), unmanaged: false };
      const { expected, unmanaged } = this.expectedScale(pdb, members);
      return { expected, desired: scaledValue(minAvailable, expected), unmanaged };
    }
    return { expected: 0, desired: 0, unmanaged: false };
  }

  /**
   * Upstream `getExpectedScale`: the sum of the scales of the pods' controllers (a Deployment's once, however many of
   * its ReplicaSets own pods); pods without one are reported.
   */
  private expectedScale(pdb: KubeObject, members: PdbMembers): { expected: number; unmanaged: boolean } {
    const scales = new Map<string, number>();
    const namespace = pdb.metadata.namespace ?? '';
    for (const ref of members.controllers()) {
      const found = findControllerScale(this.runtime, ref, namespace);
      if (!found) {
        const pod = members.controlledBy(ref.uid)?.metadata.name ?? '';
        throw new Error(`found no controllers for pod ${JSON.stringify(pod)}`);
      }
      scales.set(found.uid, found.scale);
    }
    let expected = 0;
    for (const scale of scales.values()) expected += scale;
    return { expected, unmanaged: members.unmanaged.size > 0 };
  }

  private scheduleRecheck(t: TrackedPdb, at: number): void {
    if (t.recheckAt !== undefined && t.recheckAt <= at) return;
    t.cancelRecheck?.();
    t.recheckAt = at;
    // +1 ms: the entry is dropped only once strictly expired, as upstream's Before() comparison says.
    t.cancelRecheck = this.runtime.after(Math.max(0, at - this.runtime.now()) + 1, () => {
      t.recheckAt = undefined;
      t.cancelRecheck = undefined;
      this.queue.add(t.key);
    });
  }

  // ---- stale DisruptionTarget conditions ---------------------------------------------------------------------

  private scheduleStaleCheck(podKey: string, at: number): void {
    const existing = this.staleChecks.get(podKey);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const cancel = this.runtime.after(Math.max(0, at - this.runtime.now()), () => {
      this.staleChecks.delete(podKey);
      this.staleQueue.add(podKey);
    });
    this.staleChecks.set(podKey, { at, cancel });
  }

  private syncStalePod(podKey: string): void {
    const slash = podKey.indexOf('/');
    const pod = this.store.get(POD_STORAGE, podKey.slice(0, slash), podKey.slice(slash + 1));
    if (!pod) return;
    const stale = staleCandidate(pod);
    if (!stale) return;
    const now = this.runtime.now();
    if (stale.since + STALE_POD_DISRUPTION_TIMEOUT_MS > now) {
      this.scheduleStaleCheck(podKey, stale.since + STALE_POD_DISRUPTION_TIMEOUT_MS);
      return;
    }
    const conditions = (pod.status?.['conditions'] as unknown[]).map((c) =>
      isRecord(c) && c['type'] === 'DisruptionTarget' ? { ...c, status: 'False', lastTransitionTime: rfc3339(now) } : c,
    );
    this.runtime.registry.update(
      this.podDef,
      pod.metadata.namespace,
      pod.metadata.name,
      { metadata: { resourceVersion: pod.metadata.resourceVersion }, status: { ...pod.status, conditions } },
      { subresource: 'status' },
    );
  }
}

/** A notable condition of one sync, recorded as an Event when it was not already reported by the previous sync. */
interface Notice {
  reason: string;
  type: 'Normal' | 'Warning';
  message: string;
  about?: KubeObject;
}

function pinOf(selector: LabelSelector | NothingSelector | Error): string | undefined {
  if (selector instanceof Error || selector === 'nothing') return undefined;
  for (const r of selector.requirements) {
    const value = equalityValue(selector, r.key);
    if (value !== undefined) return `${r.key}\u0000${value}`;
  }
  return undefined;
}

function selects(t: TrackedPdb, pod: KubeObject): boolean {
  return !(t.selector instanceof Error) && matchesLabels(t.selector, pod.metadata.labels);
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  return ak.every((k) => a[k] === b[k]);
}
