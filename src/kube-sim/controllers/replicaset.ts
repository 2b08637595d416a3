/**
 * The ReplicaSet controller (kube-controller-manager `replicaset`): keeps `spec.replicas` active pods for every
 * ReplicaSet, replaces pods that were deleted or evicted (new name, new UID), and reports status.
 *
 * The helpers of the second half of this file (pod readiness, owner references, template hashing, controller
 * revisions, int-or-percent) are shared by the Deployment, DaemonSet and StatefulSet controllers: the ReplicaSet is
 * the base pod-owning controller, and keeping them here spares a module of their own.
 */
import { podTemplateDefaults } from '../api/defaults.ts';
import { fromLabelSelectorObject, matchesLabels } from '../../k8s/label-selector.ts';
import { rfc3339 } from '../api/registry.ts';
import type { ResourceDef } from '../api/resources.ts';
import { StatusError } from '../api/status.ts';
import type { KubeObject, ObjectInput, OwnerReference } from '../model/wire.ts';
import { controllerOf, isRecord, jsonEqual } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import type { ObjectStore, StoreEvent } from '../store/object-store.ts';
import { WorkQueue } from './work-queue.ts';

/** Pods one sync of a ReplicaSet creates at most (upstream `burstReplicas`); the rest come in the next sync. */
const BURST_REPLICAS = 500;

/**
 * Starts the ReplicaSet controller: it creates missing pods (unbound: the scheduler places them), deletes excess
 * ones in upstream's order, and writes `status`. Returns the function that stops it.
 */
export function startReplicaSetController(runtime: SimRuntime): () => void {
  const { store } = runtime;
  let stopped = false;
  const queue = new WorkQueue(
    runtime,
    (key) => {
      if (!stopped) syncReplicaSet(runtime, queue, requeue, orphans, key);
    },
    { name: 'replicaset' },
  );
  const requeue = delayedRequeue(runtime, queue);
  const orphans = new OrphanIndex();
  const unsubscribe = store.subscribe((event) => {
    if (event.storage === 'apps/replicasets') {
      if (event.type !== 'DELETED' && specOrMetaChanged(event)) queue.add(keyOf(event.object));
    } else if (event.storage === 'core/pods') {
      enqueueOwnersOfPod(event, 'ReplicaSet', (key) => queue.add(key));
      // A pod nobody controls may be adopted by a ReplicaSet whose selector matches it.
      if (orphans.observe(event)) for (const key of selectingOwners(store, 'apps/replicasets', event.object)) queue.add(key);
    }
  });
  for (const pod of store.all('core/pods')) orphans.observe({ type: 'ADDED', object: pod, revision: 0, storage: 'core/pods' });
  for (const rs of store.all('apps/replicasets')) queue.add(keyOf(rs));
  return () => {
    stopped = true;
    unsubscribe();
  };
}

function syncReplicaSet(runtime: SimRuntime, queue: WorkQueue, requeue: Requeue, orphans: OrphanIndex, key: string): void {
  const { store } = runtime;
  const [namespace, name] = splitKey(key);
  const rs = store.get('apps/replicasets', namespace, name);
  if (!rs) return;
  const spec = rec(rs.spec);
  const wanted = int(spec['replicas'], 1);
  const minReadySeconds = int(spec['minReadySeconds'], 0);
  let failure: string | undefined;
  // The pods status counts: read again only when this sync created or deleted some.
  let pods: KubeObject[] | undefined;

  // A ReplicaSet being deleted (foreground) keeps its pods for the garbage collector and only reports status.
  if (!rs.metadata.deletionTimestamp) {
    adoptOrphans(runtime, rs, 'core/pods', orphans);
    const active = ownedPods(store, rs).filter(isPodActive);
    const diff = active.length - wanted;
    if (diff === 0) pods = active;
    if (diff < 0 && !namespaceTerminating(store, namespace)) {
      const toCreate = Math.min(-diff, BURST_REPLICAS);
      const template = rec(spec['template']);
      for (let i = 0; i < toCreate; i++) {
        try {
          createPod(runtime, podFromTemplate(rs, template, { generateName: `${name}-` }));
        } catch (err) {
          failure = errorMessage(err);
          runtime.recordEvent(rs, 'Warning', 'FailedCreate', `Error creating: ${failure}`, 'replicaset-controller');
          break;
        }
      }
      if (failure === undefined && -diff > toCreate) queue.addAfter(key, 0);
    } else if (diff > 0) {
      for (const pod of podsToDelete(active, diff)) deletePod(runtime, pod);
    }
  }

  pods ??= ownedPods(store, rs).filter(isPodActive);
  const now = runtime.now();
  const templateLabels = rec(rec(rec(spec['template'])['metadata'])['labels']);
  let ready = 0;
  let available = 0;
  let fullyLabeled = 0;
  let recheckInMs: number | undefined;
  for (const pod of pods) {
    if (labelsContain(pod.metadata.labels, templateLabels)) fullyLabeled++;
    if (!isPodReady(pod)) continue;
    ready++;
    const wait = msUntilAvailable(pod, minReadySeconds, now);
    if (wait === 0) available++;
    else recheckInMs = Math.min(recheckInMs ?? Infinity, wait);
  }
  const previous = rec(rs.status);
  const conditions = replicaFailureConditions(previous['conditions'], failure, now);
  writeStatus(runtime, kindDef('ReplicaSet'), rs, {
    replicas: pods.length,
    ...omitZero('fullyLabeledReplicas', fullyLabeled),
    ...omitZero('readyReplicas', ready),
    ...omitZero('availableReplicas', available),
    ...omitZero('observedGeneration', rs.metadata.generation ?? 0),
    ...(conditions.length > 0 ? { conditions } : {}),
  });
  // Pods that are Ready but not yet for minReadySeconds become available later: look again then.
  if (recheckInMs !== undefined) requeue(key, recheckInMs);
}

/** Keeps a ReplicaFailure condition while creating pods fails, and drops it once creating works again. */
function replicaFailureConditions(previous: unknown, failure: string | undefined, now: number): Record<string, unknown>[] {
  const list: unknown[] = Array.isArray(previous) ? previous : [];
  const others = list.filter((c): c is Record<string, unknown> => isRecord(c) && c['type'] !== 'ReplicaFailure');
  if (failure === undefined) return others;
  const old = list.find((c) => isRecord(c) && c['type'] === 'ReplicaFailure');
  return [
    ...others,
    {
      type: 'ReplicaFailure',
      status: 'True',
      lastTransitionTime: isRecord(old) && typeof old['lastTransitionTime'] === 'string' ? old['lastTransitionTime'] : rfc3339(now),
      reason: 'FailedCreate',
      message: failure,
    },
  ];
}

/**
 * The `count` pods to delete first when scaling down, as upstream ranks them (`ActivePodsWithRanks`): unscheduled
 * before scheduled, Pending before Unknown before Running, not Ready before Ready, pods doubled up on a node before
 * lone ones, Ready for less time before longer, more restarts before fewer, newer before older.
 */
export function podsToDelete(active: readonly KubeObject[], count: number): KubeObject[] {
  if (count <= 0) return [];
  const perNode = new Map<string, number>();
  for (const pod of active) {
    const node = podNodeName(pod);
    if (node) perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const phaseRank = (pod: KubeObject): number => {
    const phase = rec(pod.status)['phase'];
    return phase === 'Pending' ? 0 : phase === 'Running' ? 2 : 1;
  };
  const ranked = active.map((pod) => ({
    pod,
    assigned: podNodeName(pod) !== '' ? 1 : 0,
    phase: phaseRank(pod),
    ready: isPodReady(pod) ? 1 : 0,
    doubled: perNode.get(podNodeName(pod)) ?? 0,
    readySince: readySinceMs(pod),
    restarts: restartCount(pod),
    created: Date.parse(pod.metadata.creationTimestamp) || 0,
  }));
  ranked.sort(
    (a, b) =>
      a.assigned - b.assigned ||
      a.phase - b.phase ||
      a.ready - b.ready ||
      b.doubled - a.doubled ||
      (a.ready && b.ready ? b.readySince - a.readySince : 0) ||
      b.restarts - a.restarts ||
      b.created - a.created,
  );
  return ranked.slice(0, count).map((r) => r.pod);
}

function restartCount(pod: KubeObject): number {
  const statuses = rec(pod.status)['containerStatuses'];
  let max = 0;
  if (Array.isArray(statuses)) for (const s of statuses) if (isRecord(s)) max = Math.max(max, int(s['restartCount'], 0));
  return max;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers shared by the workload controllers
// ---------------------------------------------------------------------------------------------------------------

/** A JSON object field read leniently: anything else reads as `{}`. */
export function rec(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

/** A whole number field, or `fallback` when absent or not a number. */
export function int(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : fallback;
}

/** `{ [name]: value }`, or nothing when the value is 0: the status counters are `omitempty` upstream. */
export function omitZero(name: string, value: number): Record<string, number> {
  return value === 0 ? {} : { [name]: value };
}

/** Queues a key again after a delay. */
export type Requeue = (key: string, ms: number) => void;

/**
 * A delayed requeue that keeps at most one timer per key (the earliest wanted): controllers that ask for a
 * re-check on every sync (minReadySeconds, progress deadlines) would otherwise pile up timers on a large cluster.
 */
export function delayedRequeue(runtime: SimRuntime, queue: WorkQueue): Requeue {
  const due = new Map<string, number>();
  return (key, ms) => {
    const at = runtime.now() + ms;
    const pending = due.get(key);
    if (pending !== undefined && pending <= at) return;
    due.set(key, at);
    runtime.after(ms, () => {
      if (due.get(key) !== at) return;
      due.delete(key);
      queue.add(key);
    });
  };
}

/** The work-queue key of a namespaced object: `namespace/name`. */
export function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

/** Splits a `namespace/name` key. */
export function splitKey(key: string): [string, string] {
  const at = key.indexOf('/');
  return [key.slice(0, at), key.slice(at + 1)];
}

/**
 * Whether a store event changed more than status (a controller's own status writes must not wake it again). Status
 * writes keep `spec` and the metadata maps as the same objects, so identity checks are enough and cheap.
 */
export function specOrMetaChanged(event: StoreEvent): boolean {
  const before = event.previous;
  if (!before || event.type !== 'MODIFIED') return true;
  const a = before.metadata;
  const b = event.object.metadata;
  return (
    before.spec !== event.object.spec ||
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    a.labels !== b.labels ||
    a.annotations !== b.annotations ||
    a.finalizers !== b.finalizers ||
    a.ownerReferences !== b.ownerReferences
  );
}

/**
 * Queues the controllers (of `ownerKind`) of a pod that changed in a way they care about: created, deleted,
 * bound, phase, readiness, deletion, labels or owners. Status-only noise (container statuses, IPs) is skipped.
 */
export function enqueueOwnersOfPod(event: StoreEvent, ownerKind: string, add: (key: string) => void): void {
  const pod = event.object;
  const before = event.previous;
  if (event.type === 'MODIFIED' && before && !podChangeMatters(before, pod)) return;
  const namespace = pod.metadata.namespace ?? '';
  const ref = controllerOf(pod);
  if (ref?.kind === ownerKind) add(`${namespace}/${ref.name}`);
  const oldRef = before ? controllerOf(before) : undefined;
  if (oldRef?.kind === ownerKind && oldRef.uid !== ref?.uid) add(`${namespace}/${oldRef.name}`);
}

/** Whether a pod update matters to its controller. */
export function podChangeMatters(before: KubeObject, after: KubeObject): boolean {
  if (before.metadata.deletionTimestamp !== after.metadata.deletionTimestamp) return true;
  if (before.metadata.ownerReferences !== after.metadata.ownerReferences) return true;
  if (before.metadata.labels !== after.metadata.labels) return true;
  if (podNodeName(before) !== podNodeName(after)) return true;
  const a = rec(before.status);
  const b = rec(after.status);
  if (a['phase'] !== b['phase']) return true;
  const ra = podCondition(before, 'Ready');
  const rb = podCondition(after, 'Ready');
  return ra?.['status'] !== rb?.['status'] || ra?.['lastTransitionTime'] !== rb?.['lastTransitionTime'];
}

/** The node a pod is bound to, or ''. */
export function podNodeName(pod: KubeObject): string {
  const node = pod.spec?.['nodeName'];
  return typeof node === 'string' ? node : '';
}

/** A condition of a pod's status by type. */
export function podCondition(pod: KubeObject, type: string): Record<string, unknown> | undefined {
  const conditions = rec(pod.status)['conditions'];
  if (!Array.isArray(conditions)) return undefined;
  for (const c of conditions) if (isRecord(c) && c['type'] === type) return c;
  return undefined;
}

/** Ready: the pod's Ready condition is True (what `podutil.IsPodReady` checks). */
export function isPodReady(pod: KubeObject): boolean {
  return podCondition(pod, 'Ready')?.['status'] === 'True';
}

/** Running and Ready (what StatefulSets wait for). */
export function isPodRunningAndReady(pod: KubeObject): boolean {
  return rec(pod.status)['phase'] === 'Running' && isPodReady(pod);
}

/** Marked for deletion: the kubelet is stopping it. */
export function isPodTerminating(pod: KubeObject): boolean {
  return pod.metadata.deletionTimestamp !== undefined;
}

/** Succeeded or Failed. */
export function isPodTerminal(pod: KubeObject): boolean {
  const phase = rec(pod.status)['phase'];
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Counts as a replica: not being deleted and not finished (`controller.FilterActivePods`). */
export function isPodActive(pod: KubeObject): boolean {
  return !isPodTerminating(pod) && !isPodTerminal(pod);
}

function readySinceMs(pod: KubeObject): number {
  const since = podCondition(pod, 'Ready')?.['lastTransitionTime'];
  return typeof since === 'string' ? Date.parse(since) || 0 : 0;
}

/**
 * 0 when the pod is available (Ready for at least `minReadySeconds`), else the ms until it will be (Infinity when
 * it is not Ready). As upstream, the Ready condition's lastTransitionTime (whole seconds) is the start.
 */
export function msUntilAvailable(pod: KubeObject, minReadySeconds: number, now: number): number {
  if (!isPodReady(pod)) return Infinity;
  if (minReadySeconds <= 0) return 0;
  const since = readySinceMs(pod);
  if (!since) return 0;
  const at = since + minReadySeconds * 1000;
  return at < now ? 0 : at - now + 1;
}

/** Available: Ready for at least `minReadySeconds`. */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  return msUntilAvailable(pod, minReadySeconds, now) === 0;
}

/** The owner reference a controller puts on what it creates (`metav1.NewControllerRef`). */
export function controllerRefTo(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** Objects of a storage whose controller is `owner`, through the 'controller' index. */
export function ownedBy(store: ObjectStore, storage: string, owner: KubeObject): KubeObject[] {
  return store.byIndex(storage, 'controller', owner.metadata.uid);
}

/** The pods `owner` controls. */
export function ownedPods(store: ObjectStore, owner: KubeObject): KubeObject[] {
  return ownedBy(store, 'core/pods', owner);
}

/** Whether every label of `wanted` is on `labels`. */
export function labelsContain(labels: Record<string, string> | undefined, wanted: Record<string, unknown>): boolean {
  // No entries array per call: a ReplicaSet's status pass asks this of each of its pods.
  for (const k in wanted) if (labels?.[k] !== wanted[k]) return false;
  return true;
}

/**
 * The objects of one storage that no controller owns, by namespace: what controllers may adopt. Orphans are rare
 * (an `--cascade=orphan` delete, a pod created by hand), so adoption looks at these few instead of every object.
 */
export class OrphanIndex {
  private readonly byNamespace = new Map<string, Set<string>>();

  /**
   * Follows one store event of the storage; true when the object just became an orphan that could be adopted (or an
   * orphan's labels changed), so controllers whose selector matches it should look.
   */
  observe(event: StoreEvent): boolean {
    const obj = event.object;
    const namespace = obj.metadata.namespace ?? '';
    const orphan = event.type !== 'DELETED' && !obj.metadata.deletionTimestamp && controllerOf(obj) === undefined;
    let names = this.byNamespace.get(namespace);
    if (orphan) {
      if (!names) this.byNamespace.set(namespace, (names = new Set()));
      const known = names.has(obj.metadata.name);
      names.add(obj.metadata.name);
      return !known || event.previous?.metadata.labels !== obj.metadata.labels;
    }
    if (names?.delete(obj.metadata.name) && names.size === 0) this.byNamespace.delete(namespace);
    return false;
  }

  /** Names of the orphans of a namespace. */
  names(namespace: string): readonly string[] {
    const names = this.byNamespace.get(namespace);
    return names ? [...names] : [];
  }
}

/** The selector of a workload's spec; 'nothing' when absent or unparsable (it then adopts nothing). */
export function workloadSelector(obj: KubeObject): ReturnType<typeof fromLabelSelectorObject> {
  const selector = obj.spec?.['selector'];
  if (!isRecord(selector)) return 'nothing';
  try {
    const parsed = fromLabelSelectorObject(selector);
    // An empty selector would select everything: upstream refuses to adopt with it.
    return parsed !== 'nothing' && parsed.requirements.length === 0 ? 'nothing' : parsed;
  } catch {
    return 'nothing';
  }
}

/** Keys of the controllers of `ownerStorage` in the object's namespace whose selector matches it. */
export function selectingOwners(store: ObjectStore, ownerStorage: string, obj: KubeObject): string[] {
  const keys: string[] = [];
  for (const owner of store.list(ownerStorage, { namespace: obj.metadata.namespace ?? '' }).items) {
    if (!owner.metadata.deletionTimestamp && matchesLabels(workloadSelector(owner), obj.metadata.labels)) keys.push(keyOf(owner));
  }
  return keys;
}

/**
 * Adopts the orphans of `storage` in the owner's namespace that its selector matches, by adding a controller
 * reference (upstream's `ClaimPods` / `ClaimReplicaSets`). Not while the owner is being deleted.
 */
export function adoptOrphans(runtime: SimRuntime, owner: KubeObject, storage: string, orphans: OrphanIndex): void {
  const namespace = owner.metadata.namespace ?? '';
  const names = orphans.names(namespace);
  if (names.length === 0 || owner.metadata.deletionTimestamp) return;
  const selector = workloadSelector(owner);
  for (const name of names) {
    const obj = runtime.store.get(storage, namespace, name);
    if (!obj || obj.metadata.deletionTimestamp || controllerOf(obj) || !matchesLabels(selector, obj.metadata.labels)) continue;
    try {
      runtime.registry.update(kindDef(obj.kind), namespace, name, {
        ...obj,
        metadata: { ...obj.metadata, ownerReferences: [...(obj.metadata.ownerReferences ?? []), controllerRefTo(owner)] },
      });
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
}

/** Whether the namespace is being deleted (nothing can be created in it: the apiserver answers 403). */
export function namespaceTerminating(store: ObjectStore, namespace: string): boolean {
  const ns = store.get('core/namespaces', undefined, namespace);
  return !ns || ns.metadata.deletionTimestamp !== undefined;
}

/** Options of podFromTemplate. */
export interface PodFromTemplateOptions {
  /** A fixed name (StatefulSet pods). */
  name?: string;
  /** A name prefix the apiserver completes with 5 random characters. */
  generateName?: string;
  /** Labels added to the template's. */
  labels?: Record<string, string>;
  /** Fields set on top of the template's spec. */
  spec?: Record<string, unknown>;
}

/**
 * A pod of `owner` from a pod template (`controller.GetPodFromTemplate`): the template's labels, annotations,
 * finalizers and spec, and a controller reference. The spec's nested objects are shared with the template, not
 * copied: stored objects are never mutated, and sharing keeps 50,000 pods cheap.
 */
export function podFromTemplate(owner: KubeObject, template: Record<string, unknown>, options: PodFromTemplateOptions): ObjectInput {
  const meta = rec(template['metadata']);
  const labels = { ...(rec(meta['labels']) as Record<string, string>), ...options.labels };
  const annotations = rec(meta['annotations']) as Record<string, string>;
  const finalizers = Array.isArray(meta['finalizers']) ? (meta['finalizers'] as string[]) : [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(options.name !== undefined ? { name: options.name } : { generateName: options.generateName ?? `${owner.metadata.name}-` }),
      namespace: owner.metadata.namespace,
      labels,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ...(finalizers.length > 0 ? { finalizers } : {}),
      ownerReferences: [controllerRefTo(owner)],
    },
    spec: { ...rec(template['spec']), ...options.spec },
  };
}

/**
 * Creates a pod through the registry. A generated name that happens to exist already is retried with a new one, as
 * the apiserver's generateName would.
 */
export function createPod(runtime: SimRuntime, pod: ObjectInput): KubeObject {
  const def = kindDef('Pod');
  for (let attempt = 0; ; attempt++) {
    try {
      return runtime.registry.create(def, pod.metadata?.namespace, pod);
    } catch (err) {
      if (attempt < 3 && pod.metadata?.generateName && err instanceof StatusError && err.reason === 'AlreadyExists') continue;
      throw err;
    }
  }
}

/** Deletes a pod (gracefully unless options say otherwise); a pod already gone is fine. */
export function deletePod(runtime: SimRuntime, pod: KubeObject, gracePeriodSeconds?: number): void {
  try {
    runtime.registry.delete(kindDef('Pod'), pod.metadata.namespace, pod.metadata.name, {
      ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
      preconditions: { uid: pod.metadata.uid },
    });
  } catch (err) {
    if (!isGone(err)) throw err;
  }
}

/** 404, or a UID precondition that failed: the object we meant is gone. */
export function isGone(err: unknown): boolean {
  return err instanceof StatusError && (err.code === 404 || (err.code === 409 && err.message.includes('UID in precondition')));
}

/** A short message of an error, for events and conditions. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Writes `status` through the status subresource when it differs from the stored one. */
export function writeStatus(runtime: SimRuntime, def: ResourceDef, obj: KubeObject, status: Record<string, unknown>): KubeObject {
  const current = runtime.store.get(def.storage, obj.metadata.namespace, obj.metadata.name);
  if (!current || current.metadata.uid !== obj.metadata.uid) return obj;
  if (jsonEqual(current.status ?? {}, status)) return current;
  return runtime.registry.update(def, current.metadata.namespace, current.metadata.name, { ...current, status }, { subresource: 'status' });
}

/** JSON with object keys sorted, for comparing and hashing objects whatever order their keys were written in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (isRecord(value)) {
    const parts: string[] = [];
    for (const k of Object.keys(value).sort()) {
      const v = value[k];
      if (v !== undefined) parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Canonical JSON for comparing templates as upstream does (`apiequality.Semantic.DeepEqual` on Go structs): a null,
 * an empty list and an empty object count as absent. Clients send such values (`kubectl rollout undo` sends the
 * template with `metadata.creationTimestamp: null`), and they must not make an old template look new.
 */
export function semanticJson(value: unknown): string {
  return canonicalJson(pruneEmpty(value) ?? null);
}

function pruneEmpty(value: unknown): unknown {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map((v) => pruneEmpty(v) ?? null);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    let any = false;
    for (const [k, v] of Object.entries(value)) {
      const pruned = pruneEmpty(v);
      if (pruned !== undefined) {
        out[k] = pruned;
        any = true;
      }
    }
    return any ? out : undefined;
  }
  return value;
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * `controller.ComputeHash`: FNV-32a of the object (here its semantic JSON) and the collision count, printed in
 * decimal and re-encoded with `rand.SafeEncodeString` (so hashes look like upstream's: `7d9f8c6b5`).
 */
export function computeHash(value: unknown, collisionCount?: number): string {
  let hash = 0x811c9dc5;
  const feed = (byte: number) => {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  };
  for (const byte of Buffer.from(semanticJson(value), 'utf8')) feed(byte);
  if (collisionCount !== undefined) {
    // Little-endian uint32 in an 8-byte buffer, as upstream writes it.
    for (let i = 0; i < 8; i++) feed(i < 4 ? (collisionCount >>> (8 * i)) & 0xff : 0);
  }
  let out = '';
  for (const ch of String(hash >>> 0)) out += SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}

/**
 * A pod template with the apiserver's defaults filled in. Templates written by update or patch skip defaulting,
 * so the controllers compare and hash templates in this form: otherwise a `kubectl replace` without defaults would
 * look like a new template forever.
 */
export function normalizedTemplate(template: unknown): Record<string, unknown> {
  if (isRecord(template)) {
    const cached = normalizedCache.get(template);
    if (cached) return cached;
  }
  const normalized = podTemplateDefaults(rec(template));
  if (isRecord(template)) normalizedCache.set(template, normalized);
  return normalized;
}

/** Stored templates are never mutated, so their normalized form can be kept as long as they live. */
const normalizedCache = new WeakMap<Record<string, unknown>, Record<string, unknown>>();

/** A template without one label (the hash label a controller added). */
export function templateWithoutLabel(template: Record<string, unknown>, label: string): Record<string, unknown> {
  const meta = rec(template['metadata']);
  const labels = rec(meta['labels']);
  if (!(label in labels)) return template;
  const { [label]: _dropped, ...rest } = labels;
  return { ...template, metadata: { ...meta, labels: rest } };
}

/**
 * `intstr.GetScaledValueFromIntOrPercent`: an int as is, `"25%"` of `total` rounded up or down. Anything else is
 * 0 (the apiserver's validation keeps such values out).
 */
export function scaledValue(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return Math.trunc(value);
  if (typeof value === 'string') {
    const match = /^(\d+)%$/.exec(value);
    if (match) {
      const scaled = (Number(match[1]) * total) / 100;
      return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
    }
    if (/^\d+$/.test(value)) return Number(value);
  }
  return 0;
}

/** What syncControllerRevisions found or made. */
export interface RevisionSync {
  /** The revision of the current template. */
  update: KubeObject;
  /** Every revision of the owner, oldest first (update included). */
  revisions: KubeObject[];
}

/** How an owner names and labels its ControllerRevisions. */
export interface RevisionStyle {
  /** The revision's data (upstream: a strategic-merge patch that replaces the template). */
  data: Record<string, unknown>;
  /** The hash that names the revision (`<owner>-<hash>`). */
  hash: string;
  /** The label key that carries the hash on the revision. */
  hashLabel: string;
  /** Template labels copied onto the revision. */
  templateLabels: Record<string, string>;
}

/**
 * Finds or creates the ControllerRevision of an owner's current template, as the DaemonSet and StatefulSet
 * controllers do (`kubectl rollout history|undo` read them). A revision that matches but is not the newest (a
 * rollback) gets the next revision number. Returns undefined on a hash collision: the caller bumps
 * `status.collisionCount` and tries again.
 */
export function syncControllerRevisions(runtime: SimRuntime, owner: KubeObject, style: RevisionStyle): RevisionSync | undefined {
  const def = kindDef('ControllerRevision');
  const revisions = ownedBy(runtime.store, def.storage, owner).sort((a, b) => int(a['revision'], 0) - int(b['revision'], 0));
  const wanted = semanticJson(style.data);
  const latest = revisions[revisions.length - 1];
  const equal = revisions.filter((r) => semanticJson(r['data']) === wanted);
  const match = equal[equal.length - 1];
  if (match) {
    if (match === latest) return { update: match, revisions };
    const bumped = runtime.registry.update(def, match.metadata.namespace, match.metadata.name, { ...match, revision: int(latest?.['revision'], 0) + 1 });
    return { update: bumped, revisions: [...revisions.filter((r) => r !== match), bumped] };
  }
  const name = `${owner.metadata.name}-${style.hash}`;
  try {
    const created = runtime.registry.create(def, owner.metadata.namespace, {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels: { ...style.templateLabels, [style.hashLabel]: style.hash },
        ownerReferences: [controllerRefTo(owner)],
      },
      data: style.data,
      revision: int(latest?.['revision'], 0) + 1,
    });
    return { update: created, revisions: [...revisions, created] };
  } catch (err) {
    if (err instanceof StatusError && err.reason === 'AlreadyExists') {
      const existing = runtime.store.get(def.storage, owner.metadata.namespace, name);
      // Ours, same data, but not found above (its owner reference was lost): a collision all the same.
      if (existing && semanticJson(existing['data']) === wanted && controllerOf(existing)?.uid === owner.metadata.uid) {
        return { update: existing, revisions: [...revisions, existing] };
      }
      return undefined;
    }
    throw err;
  }
}

/**
 * Deletes the oldest revisions beyond `revisionHistoryLimit`, sparing those a live pod or the status names
 * (`truncateHistory` of both controllers).
 */
export function truncateRevisionHistory(runtime: SimRuntime, revisions: readonly KubeObject[], inUse: ReadonlySet<string>, limit: number): void {
  const removable = revisions.filter((r) => !inUse.has(r.metadata.name));
  const excess = removable.length - Math.max(0, limit);
  for (let i = 0; i < excess; i++) {
    const r = removable[i] as KubeObject;
    try {
      runtime.registry.delete(kindDef('ControllerRevision'), r.metadata.namespace, r.metadata.name);
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
}

/** The template a ControllerRevision recorded (its data is `{spec: {template: {..., $patch: replace}}}`). */
export function templateOfRevision(revision: KubeObject): Record<string, unknown> {
  const { $patch: _patch, ...template } = rec(rec(rec(revision['data'])['spec'])['template']);
  return template;
}
