/**
 * The StatefulSet controller (kube-controller-manager `statefulset`): pods `<sts>-0..N-1` with stable names,
 * OrderedReady (ordinal i is created only once i-1 is Running and Ready, and scale-down goes from the highest ordinal
 * one at a time) or Parallel, RollingUpdate from the highest ordinal down to the partition, OnDelete,
 * ControllerRevisions, PersistentVolumeClaims from volumeClaimTemplates, and status. A deleted or evicted pod is
 * recreated under the same name (with a new UID) once the old one is gone.
 */
import { StatusError } from '../api/status.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import {
  computeHash,
  controllerRefTo,
  createPod,
  delayedRequeue,
  deletePod,
  enqueueOwnersOfPod,
  errorMessage,
  int,
  isPodRunningAndReady,
  isPodTerminal,
  isPodTerminating,
  keyOf,
  msUntilAvailable,
  namespaceTerminating,
  normalizedTemplate,
  omitZero,
  ownedPods,
  podFromTemplate,
  rec,
  specOrMetaChanged,
  splitKey,
  syncControllerRevisions,
  templateOfRevision,
  truncateRevisionHistory,
  writeStatus,
} from './replicaset.ts';
import type { Requeue } from './replicaset.ts';
import { WorkQueue } from './work-queue.ts';

/** The pod label naming the ControllerRevision a pod was made from. */
const REVISION_LABEL = 'controller-revision-hash';
/** The label with the hash on a StatefulSet's ControllerRevisions. */
const HASH_LABEL = 'controller.kubernetes.io/hash';
const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
const COMPONENT = 'statefulset-controller';

/** Starts the StatefulSet controller; returns the function that stops it. */
export function startStatefulSetController(runtime: SimRuntime): () => void {
  const { store } = runtime;
  let stopped = false;
  const queue = new WorkQueue(
    runtime,
    (key) => {
      if (!stopped) syncStatefulSet(runtime, requeue, key);
    },
    { name: 'statefulset' },
  );
  const requeue = delayedRequeue(runtime, queue);
  const unsubscribe = store.subscribe((event) => {
    if (event.storage === 'apps/statefulsets') {
      if (event.type !== 'DELETED' && specOrMetaChanged(event)) queue.add(keyOf(event.object));
    } else if (event.storage === 'core/pods') {
      enqueueOwnersOfPod(event, 'StatefulSet', (key) => queue.add(key));
    }
  });
  for (const sts of store.all('apps/statefulsets')) queue.add(keyOf(sts));
  return () => {
    stopped = true;
    unsubscribe();
  };
}

/** The ordinal in a pod name `<sts>-<n>`, or undefined when the pod is not named as this set's pods are. */
function ordinalOf(setName: string, pod: KubeObject): number | undefined {
  const name = pod.metadata.name;
  if (!name.startsWith(`${setName}-`)) return undefined;
  const suffix = name.slice(setName.length + 1);
  return /^(0|[1-9]\d*)$/.test(suffix) ? Number(suffix) : undefined;
}

/** Running, Ready and not terminating. */
function isHealthy(pod: KubeObject): boolean {
  return isPodRunningAndReady(pod) && !isPodTerminating(pod);
}

function syncStatefulSet(runtime: SimRuntime, requeue: Requeue, key: string): void {
  const { store } = runtime;
  const [namespace, name] = splitKey(key);
  const sts = store.get('apps/statefulsets', namespace, name);
  if (!sts) return;
  const spec = rec(sts.spec);
  const status = rec(sts.status);
  const template = normalizedTemplate(spec['template']);
  const collisionCount = int(status['collisionCount'], 0);
  const data = { spec: { template: { ...template, $patch: 'replace' } } };
  const revisions = syncControllerRevisions(runtime, sts, {
    data,
    hash: computeHash(data, collisionCount),
    hashLabel: HASH_LABEL,
    templateLabels: rec(rec(template['metadata'])['labels']) as Record<string, string>,
  });
  if (!revisions) {
    writeStatus(runtime, kindDef('StatefulSet'), sts, { ...status, collisionCount: collisionCount + 1 });
    requeue(key, 0);
    return;
  }
  const updateRevision = revisions.update;
  const strategy = rec(spec['updateStrategy']);
  const set: SetSync = {
    runtime,
    sts,
    namespace,
    name,
    status,
    template,
    updateRevision,
    currentRevision: revisions.revisions.find((r) => r.metadata.name === status['currentRevision']) ?? updateRevision,
    replicaCount: int(spec['replicas'], 1),
    start: int(rec(spec['ordinals'])['start'], 0),
    monotonic: spec['podManagementPolicy'] !== 'Parallel',
    minReadySeconds: int(spec['minReadySeconds'], 0),
    strategy,
    rollingUpdate: strategy['type'] !== 'OnDelete',
    partition: int(rec(strategy['rollingUpdate'])['partition'], 0),
    recheckInMs: undefined,
  };

  try {
    managePods(set);
  } catch (err) {
    if (!(err instanceof StatusError) || err.reason !== 'AlreadyExists') {
      runtime.recordEvent(sts, 'Warning', 'FailedCreate', `create Pod failed error: ${errorMessage(err)}`, COMPONENT);
      throw err;
    }
    // The old pod of this ordinal is still there (being deleted): its removal wakes the controller again.
  }

  const { pods, currentName } = writeSetStatus(set, collisionCount);
  const inUse = new Set<string>([currentName, updateRevision.metadata.name]);
  for (const pod of pods) {
    const revision = pod.metadata.labels?.[REVISION_LABEL];
    if (revision) inUse.add(revision);
  }
  truncateRevisionHistory(runtime, revisions.revisions, inUse, int(spec['revisionHistoryLimit'], 10));
  const recheckInMs = set.recheckInMs;
  if (recheckInMs !== undefined && Number.isFinite(recheckInMs)) requeue(key, recheckInMs);
}

/** One sync of a StatefulSet: the set as read, what its spec asks, and its revisions. */
interface SetSync {
  readonly runtime: SimRuntime;
  readonly sts: KubeObject;
  readonly namespace: string;
  readonly name: string;
  readonly status: Record<string, unknown>;
  readonly template: Record<string, unknown>;
  readonly currentRevision: KubeObject;
  readonly updateRevision: KubeObject;
  readonly replicaCount: number;
  /** The first ordinal (`spec.ordinals.start`). */
  readonly start: number;
  /** OrderedReady: one pod at a time, each once its predecessors are available. */
  readonly monotonic: boolean;
  readonly minReadySeconds: number;
  readonly strategy: Record<string, unknown>;
  readonly rollingUpdate: boolean;
  readonly partition: number;
  /** The soonest a pod becomes available: the sync looks again then. */
  recheckInMs: number | undefined;
}

/** The set's pods by ordinal within the replicas (undefined: missing), and those beyond them, lowest first. */
function splitPods(set: SetSync): { replicas: (KubeObject | undefined)[]; condemned: KubeObject[] } {
  const { name, start, replicaCount } = set;
  const replicas: (KubeObject | undefined)[] = new Array<KubeObject | undefined>(replicaCount).fill(undefined);
  const condemned: KubeObject[] = [];
  for (const pod of ownedPods(set.runtime.store, set.sts)) {
    const ord = ordinalOf(name, pod);
    if (ord === undefined) continue;
    if (ord >= start && ord < start + replicaCount) replicas[ord - start] = pod;
    else condemned.push(pod);
  }
  condemned.sort((a, b) => (ordinalOf(name, a) ?? 0) - (ordinalOf(name, b) ?? 0));
  return { replicas, condemned };
}

/** Creates the pod of an ordinal from the revision upstream picks: the current one below the partition. */
function createOrdinal(set: SetSync, ordinal: number): void {
  const { runtime, sts, strategy, status, start, currentRevision, updateRevision } = set;
  const belowPartition = set.rollingUpdate && (strategy['rollingUpdate'] === undefined ? ordinal < start + int(status['currentReplicas'], 0) : ordinal < start + set.partition);
  const revision = belowPartition ? currentRevision : updateRevision;
  const podTemplate = revision === updateRevision ? set.template : templateOfRevision(revision);
  createClaims(runtime, sts, ordinal);
  createPod(runtime, statefulPod(sts, podTemplate, revision.metadata.name, ordinal));
}

/** Creates missing ordinals, scales down from the highest, then rolls the pods not at the update revision. */
function managePods(set: SetSync): void {
  const { runtime, sts, monotonic, start } = set;
  if (sts.metadata.deletionTimestamp || namespaceTerminating(runtime.store, set.namespace)) return;
  const { replicas, condemned } = splitPods(set);
  let firstUnhealthy: KubeObject | undefined;
  for (const pod of [...replicas, ...condemned]) {
    if (pod && !isHealthy(pod)) {
      firstUnhealthy = pod;
      break;
    }
  }
  for (let i = 0; i < replicas.length; i++) {
    const pod = replicas[i];
    if (pod && isPodTerminal(pod)) {
      // Finished pods are deleted and made again on the next sync, once the old one is gone.
      if (!isPodTerminating(pod)) deletePod(runtime, pod);
      if (monotonic) return;
      continue;
    }
    if (!pod) {
      createOrdinal(set, start + i);
      if (monotonic) return;
      continue;
    }
    if (!monotonic) continue;
    // OrderedReady: every predecessor must be Running, Ready and available before the next ordinal moves.
    if (isPodTerminating(pod) || !isPodRunningAndReady(pod)) return;
    const wait = msUntilAvailable(pod, set.minReadySeconds, runtime.now());
    if (wait !== 0) {
      set.recheckInMs = Math.min(set.recheckInMs ?? Infinity, wait);
      return;
    }
  }
  // Scale down from the highest ordinal; OrderedReady one at a time, each once the others are healthy.
  for (let i = condemned.length - 1; i >= 0; i--) {
    const pod = condemned[i] as KubeObject;
    if (isPodTerminating(pod)) {
      if (monotonic) return;
      continue;
    }
    if (monotonic && !isHealthy(pod) && pod !== firstUnhealthy) return;
    deletePod(runtime, pod);
    if (monotonic) return;
  }
  if (!set.rollingUpdate) return;
  // Rolling update: replace the highest ordinal not at the update revision, down to the partition, one at a time.
  const { replicas: now } = splitPods(set);
  for (let i = now.length - 1; i >= set.partition; i--) {
    const pod = now[i];
    if (!pod) return;
    if (pod.metadata.labels?.[REVISION_LABEL] !== set.updateRevision.metadata.name && !isPodTerminating(pod)) {
      deletePod(runtime, pod);
      return;
    }
    if (!isHealthy(pod)) return;
  }
}

/** Counts the set's pods into its status and writes it; returns the pods and the current revision's name. */
function writeSetStatus(set: SetSync, collisionCount: number): { pods: KubeObject[]; currentName: string } {
  const { runtime, sts, name, status, currentRevision, updateRevision } = set;
  const pods = ownedPods(runtime.store, sts).filter((p) => ordinalOf(name, p) !== undefined);
  const now = runtime.now();
  let replicas = 0;
  let ready = 0;
  let available = 0;
  let current = 0;
  let updated = 0;
  for (const pod of pods) {
    replicas++;
    if (isPodRunningAndReady(pod)) {
      ready++;
      const wait = msUntilAvailable(pod, set.minReadySeconds, now);
      if (wait === 0) available++;
      else set.recheckInMs = Math.min(set.recheckInMs ?? Infinity, wait);
    }
    if (!isPodTerminating(pod)) {
      const revision = pod.metadata.labels?.[REVISION_LABEL];
      if (revision === currentRevision.metadata.name) current++;
      if (revision === updateRevision.metadata.name) updated++;
    }
  }
  let currentName = currentRevision.metadata.name;
  // A finished rolling update makes the update revision the current one.
  if (set.rollingUpdate && updated === replicas && ready === replicas) {
    current = updated;
    currentName = updateRevision.metadata.name;
  }
  writeStatus(runtime, kindDef('StatefulSet'), sts, {
    ...omitZero('observedGeneration', sts.metadata.generation ?? 0),
    replicas,
    ...omitZero('readyReplicas', ready),
    ...omitZero('currentReplicas', current),
    ...omitZero('updatedReplicas', updated),
    currentRevision: currentName,
    updateRevision: updateRevision.metadata.name,
    collisionCount,
    availableReplicas: available,
    ...(Array.isArray(status['conditions']) ? { conditions: status['conditions'] } : {}),
  });
  return { pods, currentName };
}

/** The volumeClaimTemplates of a set. */
function claimTemplates(sts: KubeObject): Record<string, unknown>[] {
  const list = rec(sts.spec)['volumeClaimTemplates'];
  return Array.isArray(list) ? list.filter(isRecord) : [];
}

function claimTemplateName(claim: Record<string, unknown>): string {
  const name = rec(claim['metadata'])['name'];
  return typeof name === 'string' ? name : '';
}

function claimName(claim: Record<string, unknown>, sts: KubeObject, ordinal: number): string {
  return `${claimTemplateName(claim)}-${sts.metadata.name}-${ordinal}`;
}

/** Creates the ordinal's PersistentVolumeClaims that do not exist yet (they outlive the pod, as upstream). */
function createClaims(runtime: SimRuntime, sts: KubeObject, ordinal: number): void {
  const def = kindDef('PersistentVolumeClaim');
  const selectorLabels = rec(rec(rec(sts.spec)['selector'])['matchLabels']) as Record<string, string>;
  const deleteWithSet = rec(rec(sts.spec)['persistentVolumeClaimRetentionPolicy'])['whenDeleted'] === 'Delete';
  for (const claim of claimTemplates(sts)) {
    const name = claimName(claim, sts, ordinal);
    if (runtime.store.get(def.storage, sts.metadata.namespace, name)) continue;
    const meta = rec(claim['metadata']);
    runtime.registry.create(def, sts.metadata.namespace, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name,
        namespace: sts.metadata.namespace,
        labels: { ...(rec(meta['labels']) as Record<string, string>), ...selectorLabels },
        ...(isRecord(meta['annotations']) ? { annotations: meta['annotations'] as Record<string, string> } : {}),
        ...(deleteWithSet ? { ownerReferences: [controllerRefTo(sts)] } : {}),
      },
      spec: rec(claim['spec']),
    });
  }
}

/** The pod of one ordinal: stable name, hostname and subdomain, the revision label, claims as volumes. */
function statefulPod(sts: KubeObject, template: Record<string, unknown>, revisionName: string, ordinal: number) {
  const name = `${sts.metadata.name}-${ordinal}`;
  const templateSpec = rec(template['spec']);
  const serviceName = rec(sts.spec)['serviceName'];
  const claims = claimTemplates(sts);
  const claimVolumes = claims.map((claim) => ({
    name: claimTemplateName(claim),
    persistentVolumeClaim: { claimName: claimName(claim, sts, ordinal) },
  }));
  const templateVolumes: unknown[] = Array.isArray(templateSpec['volumes']) ? templateSpec['volumes'] : [];
  const ownVolumes = templateVolumes.filter(
    (v) => !isRecord(v) || !claimVolumes.some((c) => c.name === v['name']),
  );
  return podFromTemplate(sts, template, {
    name,
    labels: { [REVISION_LABEL]: revisionName, [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal) },
    spec: {
      hostname: name,
      ...(typeof serviceName === 'string' && serviceName ? { subdomain: serviceName } : {}),
      ...(claims.length > 0 || Array.isArray(templateSpec['volumes']) ? { volumes: [...ownVolumes, ...claimVolumes] } : {}),
    },
  });
}
