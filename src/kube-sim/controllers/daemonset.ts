/**
 * The DaemonSet controller (kube-controller-manager `daemonset`): one pod on every node the DaemonSet's pods fit
 * (nodeSelector, required node affinity, taints against tolerations plus the tolerations upstream adds to every
 * daemon pod), rolling updates with maxUnavailable/maxSurge, ControllerRevisions, and status. Nodes that appear get
 * a pod; the pods of nodes that disappear are force-deleted by the pod garbage collector, as upstream.
 */
import { controllerOf, isRecord, jsonEqual } from '../model/wire.ts';
import type { KubeObject } from '../model/wire.ts';
import type { SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import type { Toleration } from '../scenario/types.ts';
import type { NodeSelectorTerm } from '../../k8s/scheduling.ts';
import {
  findUntoleratedTaint,
  nodeSelectorMatches,
  nodeSelectorTermsMatch,
  requiredNodeAffinityTerms,
} from '../../k8s/scheduling.ts';
import { nodeTaints } from './node-lifecycle.ts';
import type { StoreEvent } from '../store/object-store.ts';
import {
  computeHash,
  createPod,
  delayedRequeue,
  deletePod,
  enqueueOwnersOfPod,
  errorMessage,
  int,
  isPodAvailable,
  isPodReady,
  isPodTerminal,
  isPodTerminating,
  keyOf,
  msUntilAvailable,
  namespaceTerminating,
  normalizedTemplate,
  omitZero,
  ownedPods,
  podFromTemplate,
  podNodeName,
  rec,
  scaledValue,
  specOrMetaChanged,
  splitKey,
  syncControllerRevisions,
  truncateRevisionHistory,
  writeStatus,
} from './replicaset.ts';
import type { Requeue } from './replicaset.ts';
import { WorkQueue } from './work-queue.ts';

/** The label with the template hash on daemon pods and their ControllerRevisions. */
const HASH_LABEL = 'controller-revision-hash';
/** Pods one sync creates at most (upstream `BurstReplicas`). */
const BURST_REPLICAS = 250;
const COMPONENT = 'daemonset-controller';
/** Back-off before a failed daemon pod on a node is replaced: doubles from 1 s up to 15 min, as upstream. */
const FAILED_BACKOFF_MS = { initial: 1_000, max: 15 * 60_000 };

/**
 * The tolerations upstream adds to every daemon pod (`AddOrUpdateDaemonPodTolerations`): daemons stay on nodes
 * that are not ready or unreachable, and land on nodes under pressure or cordoned.
 */
const DAEMON_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];
const HOST_NETWORK_TOLERATION: Toleration = { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' };

/**
 * Starts the DaemonSet controller. Two queues share the work:
 * - per node (`daemonset-nodes`): a node that appears or changes labels or taints, or loses a daemon pod, gets the
 *   pods it should run and loses those it may no longer run, at once. This only looks at that node, so it stays
 *   cheap on a large cluster, and a new node's daemons start without waiting for a full sync.
 * - per DaemonSet (`daemonset`): the full sync (every node and pod of the DaemonSet: failed pods, excess pods,
 *   rolling updates, history, status). A change to the DaemonSet itself is synced at once; the full syncs that pod
 *   and node events ask for are spaced out in proportion to what a sync costs, so that on a large cluster all
 *   DaemonSets together take about a fortieth of the time. A node change that moves no daemon (a cordon: daemons
 *   tolerate it) asks for none: as upstream's `updateNode`, only DaemonSets whose fit on the node changed are synced.
 * Returns the function that stops it.
 */
export function startDaemonSetController(runtime: SimRuntime): () => void {
  const { store } = runtime;
  let stopped = false;
  const backoff = new Map<string, { delayMs: number; until: number }>();
  /** Per DaemonSet key: when a full sync may run again, and whether one is already waiting for that. */
  const throttle = new Map<string, { notBefore: number; waiting: boolean }>();
  const syncs = new WorkQueue(
    runtime,
    (key) => {
      if (stopped) return;
      const started = performance.now();
      syncDaemonSet(runtime, requeue, backoff, key);
      const cost = performance.now() - started;
      // Cheap syncs run whenever asked. A costly one (thousands of nodes) waits thirty-nine times its cost for each
      // DaemonSet there is: all of them together then take at most about a fortieth of the time. Each such sync
      // stalls the whole sim for tens of ms, and every drain's next hop (a replacement pod created, bound, Ready, a
      // budget's status) waits behind it; upstream's controller runs beside the apiserver and stalls nothing. The
      // price is a status that lags by a few seconds on a thousand nodes; new nodes get their pods at once anyway.
      const spacing = cost > 2 ? cost * 39 * Math.max(1, store.count('apps/daemonsets')) : 0;
      throttle.set(key, { notBefore: runtime.now() + spacing, waiting: false });
    },
    // One full sync per turn of the event loop, so that requests and the other controllers get in between.
    { name: 'daemonset', batchSize: 1 },
  );
  const requeue = delayedRequeue(runtime, syncs);
  /** Queues a full sync now, or when its throttle allows. */
  function enqueueThrottled(key: string): void {
    const t = throttle.get(key);
    const wait = t ? t.notBefore - runtime.now() : 0;
    if (wait <= 0) syncs.add(key);
    else if (t && !t.waiting) {
      t.waiting = true;
      runtime.after(wait, () => syncs.add(key));
    }
  }

  /**
   * Nodes queued because the node itself changed, with the node as it was before the first change not handled yet
   * (undefined: the node is new). Nodes queued for a pod event are not here: their placement did not change.
   */
  const nodeChanges = new Map<string, KubeObject | undefined>();
  const nodeQueue = new WorkQueue(
    runtime,
    (nodeName) => {
      if (stopped) return;
      const change = nodeChanges.has(nodeName) ? { before: nodeChanges.get(nodeName) } : undefined;
      placeOnNode(runtime, nodeName, change, enqueueThrottled);
      // Only once handled: a retry after an error must still compare with the node as it was.
      nodeChanges.delete(nodeName);
    },
    { name: 'daemonset-nodes' },
  );
  const nodeChanged = (event: StoreEvent) => {
    if (event.type === 'MODIFIED' && !nodeSchedulingChanged(event.previous, event.object)) return;
    const name = event.object.metadata.name;
    if (!nodeChanges.has(name)) nodeChanges.set(name, event.type === 'DELETED' ? event.object : event.previous);
    nodeQueue.add(name);
  };

  const unsubscribe = store.subscribe((event) => {
    if (event.storage === 'apps/daemonsets') {
      if (event.type === 'DELETED') throttle.delete(keyOf(event.object));
      else if (specOrMetaChanged(event)) syncs.add(keyOf(event.object));
    } else if (event.storage === 'core/pods') {
      enqueueOwnersOfPod(event, 'DaemonSet', enqueueThrottled);
      const nodeName = nodeThatMayNeedDaemonPod(event);
      if (nodeName) nodeQueue.add(nodeName);
    } else if (event.storage === 'core/nodes') {
      nodeChanged(event);
    }
  });
  for (const ds of store.all('apps/daemonsets')) syncs.add(keyOf(ds));
  return () => {
    stopped = true;
    unsubscribe();
  };
}

/** Whether a node update can change where daemons run: labels, taints, or its name-bound fields. */
function nodeSchedulingChanged(before: KubeObject | undefined, after: KubeObject): boolean {
  if (!before) return true;
  if (before.metadata.labels !== after.metadata.labels && !jsonEqual(before.metadata.labels ?? {}, after.metadata.labels ?? {})) return true;
  // Status writes (heartbeats) keep the spec object.
  return before.spec !== after.spec && !jsonEqual(before.spec?.['taints'] ?? [], after.spec?.['taints'] ?? []);
}

/**
 * The node of a daemon pod that went away or is going (deleted, being deleted, or no longer controlled by its
 * DaemonSet): that node may need a new pod. '' for any other pod event; a pod that merely becomes Failed still counts
 * as the node's pod until the full sync deletes it, after its back-off.
 */
function nodeThatMayNeedDaemonPod(event: StoreEvent): string {
  const before = event.previous;
  const pod = event.object;
  if (controllerOf(before ?? pod)?.kind !== 'DaemonSet') return '';
  const nodeName = podNodeName(before ?? pod);
  if (event.type === 'DELETED') return nodeName;
  if (event.type !== 'MODIFIED' || !before) return '';
  const left = before.metadata.deletionTimestamp !== pod.metadata.deletionTimestamp || before.metadata.ownerReferences !== pod.metadata.ownerReferences;
  return left ? nodeName : '';
}

/** What a DaemonSet's pods need of a node. */
interface Placement {
  nodeName: string;
  nodeSelector: Record<string, string>;
  /** Required node affinity terms (OR); undefined when there are none. */
  terms: NodeSelectorTerm[] | undefined;
  tolerations: Toleration[];
}

/** Where a DaemonSet's pods may be placed on one node and continue to run there. */
interface Fit {
  shouldRun: boolean;
  shouldContinueRunning: boolean;
}

/** The fit of a node that does not exist. */
const NO_FIT: Fit = { shouldRun: false, shouldContinueRunning: false };

/** What a DaemonSet's current template makes of its pods, derived from the DaemonSet object alone. */
interface DaemonTemplate {
  /** The pod template, defaults filled in. */
  template: Record<string, unknown>;
  /** `status.collisionCount`, part of the hash. */
  collisionCount: number | undefined;
  /** The template hash: the `controller-revision-hash` label of current pods and the name of their revision. */
  hash: string;
  placement: Placement;
  /** Identifies the placement in the fit cache. */
  placementKey: string;
}

/** Stored objects are never mutated, so what a DaemonSet object's template makes can be kept as long as it lives. */
const daemonTemplates = new WeakMap<KubeObject, DaemonTemplate>();

function daemonTemplateOf(ds: KubeObject): DaemonTemplate {
  const cached = daemonTemplates.get(ds);
  if (cached) return cached;
  const template = normalizedTemplate(rec(ds.spec)['template']);
  const templateSpec = rec(template['spec']);
  const collisionCount = typeof rec(ds.status)['collisionCount'] === 'number' ? (rec(ds.status)['collisionCount'] as number) : undefined;
  const hash = computeHash(template, collisionCount);
  const placement: Placement = {
    nodeName: typeof templateSpec['nodeName'] === 'string' ? templateSpec['nodeName'] : '',
    nodeSelector: Object.fromEntries(Object.entries(rec(templateSpec['nodeSelector'])).map(([k, v]) => [k, String(v)])),
    terms: requiredNodeAffinityTerms(templateSpec),
    tolerations: daemonTolerations(templateSpec),
  };
  const out: DaemonTemplate = { template, collisionCount, hash, placement, placementKey: `${ds.metadata.uid}/${hash}` };
  daemonTemplates.set(ds, out);
  return out;
}

/**
 * Handles one node for every DaemonSet: creates the pod a DaemonSet should run there and has not, deletes those it
 * may no longer run there. For a node that changed (`change`), asks for a full sync of each DaemonSet whose fit
 * on it changed (its status counts the node differently). Everything else is the full sync's.
 */
function placeOnNode(runtime: SimRuntime, nodeName: string, change: { before: KubeObject | undefined } | undefined, enqueueSync: (key: string) => void): void {
  const { store } = runtime;
  const node = store.get('core/nodes', undefined, nodeName);
  // Pods of a node that is gone are the pod garbage collector's.
  const onNode = node ? store.byIndex('core/pods', 'spec.nodeName', nodeName) : [];
  for (const ds of store.all('apps/daemonsets')) {
    if (ds.metadata.deletionTimestamp) continue;
    const daemon = daemonTemplateOf(ds);
    const fit = node ? cachedFit(node, daemon.placementKey, daemon.placement) : NO_FIT;
    if (change) {
      const was = change.before ? cachedFit(change.before, daemon.placementKey, daemon.placement) : NO_FIT;
      if (was.shouldRun !== fit.shouldRun || was.shouldContinueRunning !== fit.shouldContinueRunning) enqueueSync(keyOf(ds));
    }
    if (!node) continue;
    const uid = ds.metadata.uid;
    const pods = onNode.filter((p) => controllerOf(p)?.uid === uid && countsOnNode(p));
    if (fit.shouldRun && pods.length === 0) {
      createOnNode(runtime, ds, daemon, nodeName, enqueueSync);
    } else if (!fit.shouldContinueRunning) {
      for (const pod of pods) if (!isPodTerminating(pod)) deletePod(runtime, pod);
    }
  }
}

/**
 * Creates a DaemonSet's pod on a node, as the full sync would. Not before the full sync has made the ControllerRevision
 * of the current template (a new or just changed DaemonSet, which the full sync handles at once): pods must not
 * carry a hash no revision records.
 */
function createOnNode(runtime: SimRuntime, ds: KubeObject, daemon: DaemonTemplate, nodeName: string, enqueueSync: (key: string) => void): void {
  const namespace = ds.metadata.namespace ?? '';
  if (namespaceTerminating(runtime.store, namespace) || !revisionRecorded(runtime, ds, daemon.hash)) return;
  try {
    createPod(runtime, daemonPod(ds, daemon.template, daemon.hash, nodeName, daemon.placement.tolerations));
  } catch (err) {
    runtime.recordEvent(ds, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`, COMPONENT);
    // The full sync tries again.
    enqueueSync(keyOf(ds));
  }
}

/** Whether the DaemonSet's ControllerRevision of `hash` exists (`<name>-<hash>`, controlled by it). */
function revisionRecorded(runtime: SimRuntime, ds: KubeObject, hash: string): boolean {
  const revision = runtime.store.get('apps/controllerrevisions', ds.metadata.namespace, `${ds.metadata.name}-${hash}`);
  return revision !== undefined && controllerOf(revision)?.uid === ds.metadata.uid;
}

function syncDaemonSet(runtime: SimRuntime, requeue: Requeue, backoff: Map<string, { delayMs: number; until: number }>, key: string): void {
  const { store } = runtime;
  const [namespace, name] = splitKey(key);
  const ds = store.get('apps/daemonsets', namespace, name);
  if (!ds || ds.metadata.deletionTimestamp) return;
  const spec = rec(ds.spec);
  const { template, collisionCount, hash, placement, placementKey } = daemonTemplateOf(ds);
  const revisions = syncControllerRevisions(runtime, ds, {
    data: { spec: { template: { ...template, $patch: 'replace' } } },
    hash,
    hashLabel: HASH_LABEL,
    templateLabels: rec(rec(template['metadata'])['labels']) as Record<string, string>,
  });
  if (!revisions) {
    writeStatus(runtime, kindDef('DaemonSet'), ds, { ...rec(ds.status), collisionCount: (collisionCount ?? 0) + 1 });
    requeue(key, 0);
    return;
  }

  const nodes = new Map<string, KubeObject>();
  /** Where this DaemonSet's pods fit, per node name: computed once per sync. */
  const fit = new Map<string, Fit>();
  for (const node of store.all('core/nodes')) {
    nodes.set(node.metadata.name, node);
    fit.set(node.metadata.name, cachedFit(node, placementKey, placement));
  }
  const owned = ownedPods(store, ds);
  const sync: DaemonSync = {
    runtime,
    requeue,
    key,
    ds,
    namespace,
    spec,
    template,
    hash,
    placement,
    nodes,
    fit,
    shouldRunOn: (nodeName: string): boolean => fit.get(nodeName)?.shouldRun === true,
    now: runtime.now(),
    minReadySeconds: int(spec['minReadySeconds'], 0),
    surge: surgeAllowed(spec),
    terminating: namespaceTerminating(store, namespace),
    recheckInMs: undefined,
    writes: 0,
    owned,
  };

  // Manage: a pod where one should run, none where none may, failed ones replaced after a back-off.
  const byNode = podsByNode(owned);
  const { toCreate, toDelete } = podsToCreateAndDelete(sync, byNode, backoff);
  createPodsOn(sync, toCreate);
  deletePods(sync, toDelete);
  rollOutdatedPods(sync);

  // History: keep revisionHistoryLimit old revisions besides those live pods still run.
  const live = refresh(sync);
  const inUse = new Set<string>([revisions.update.metadata.name]);
  for (const pod of live) {
    const h = pod.metadata.labels?.[HASH_LABEL];
    if (h) inUse.add(`${name}-${h}`);
  }
  truncateRevisionHistory(runtime, revisions.revisions, inUse, int(spec['revisionHistoryLimit'], 10));

  writeDaemonSetStatus(sync, live === owned ? byNode : podsByNode(live));
  const recheckInMs = sync.recheckInMs;
  if (recheckInMs !== undefined && Number.isFinite(recheckInMs)) requeue(key, recheckInMs);
}

/** One sync of a DaemonSet: the set and its template, the nodes and where its pods fit, and what the sync wrote. */
interface DaemonSync {
  readonly runtime: SimRuntime;
  readonly requeue: Requeue;
  readonly key: string;
  readonly ds: KubeObject;
  readonly namespace: string;
  readonly spec: Record<string, unknown>;
  readonly template: Record<string, unknown>;
  readonly hash: string;
  readonly placement: Placement;
  readonly nodes: ReadonlyMap<string, KubeObject>;
  readonly fit: ReadonlyMap<string, Fit>;
  readonly shouldRunOn: (nodeName: string) => boolean;
  readonly now: number;
  readonly minReadySeconds: number;
  /** The rolling update may surge (maxSurge set): a node runs its new pod before the old one goes. */
  readonly surge: boolean;
  /** The namespace is terminating: nothing new is created. */
  readonly terminating: boolean;
  /** The soonest something changes without an event (a back-off ends, a pod becomes available). */
  recheckInMs: number | undefined;
  /** Writes since `owned` was read: pod lists are read again only after this sync wrote something. */
  writes: number;
  owned: KubeObject[];
}

/** The DaemonSet's pods, read again if this sync wrote since. */
function refresh(sync: DaemonSync): KubeObject[] {
  if (sync.writes > 0) sync.owned = ownedPods(sync.runtime.store, sync.ds);
  sync.writes = 0;
  return sync.owned;
}

/**
 * Nodes that should run a pod and have none; pods where none may run, failed ones (after a back-off) and the
 * excess of a node that runs several.
 */
function podsToCreateAndDelete(
  sync: DaemonSync,
  byNode: ReadonlyMap<string, KubeObject[]>,
  backoff: Map<string, { delayMs: number; until: number }>,
): { toCreate: string[]; toDelete: KubeObject[] } {
  const { runtime, ds, namespace, hash, now, minReadySeconds } = sync;
  const toCreate: string[] = [];
  const toDelete: KubeObject[] = [];
  // Pods bound to nodes that no longer exist are the pod garbage collector's (pod-gc.ts): it force-deletes them,
  // as no kubelet is left to finish a graceful deletion. Here, as upstream, only nodes that exist are looked at.
  for (const node of sync.nodes.values()) {
    const { shouldRun, shouldContinueRunning } = sync.fit.get(node.metadata.name) ?? NO_FIT;
    const pods = byNode.get(node.metadata.name) ?? [];
    if (shouldRun && pods.length === 0) {
      toCreate.push(node.metadata.name);
    } else if (shouldContinueRunning) {
      const running: KubeObject[] = [];
      for (const pod of pods) {
        if (isPodTerminating(pod)) continue;
        if (isPodTerminal(pod)) {
          // A kubelet that keeps failing a daemon pod must not make the controller hot-loop: the first failure is
          // replaced at once, the next ones after a growing back-off.
          const backoffKey = `${ds.metadata.uid}/${node.metadata.name}`;
          const b = backoff.get(backoffKey);
          if (b && b.until > now) {
            sync.recheckInMs = Math.min(sync.recheckInMs ?? Infinity, b.until - now);
            continue;
          }
          const delayMs = b ? Math.min(b.delayMs * 2, FAILED_BACKOFF_MS.max) : FAILED_BACKOFF_MS.initial;
          backoff.set(backoffKey, { delayMs, until: now + delayMs });
          if (rec(pod.status)['phase'] === 'Failed') {
            runtime.recordEvent(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${namespace}/${pod.metadata.name} on node ${node.metadata.name}, will try to kill it`, COMPONENT);
          }
          toDelete.push(pod);
        } else {
          running.push(pod);
        }
      }
      if (running.length > 1) toDelete.push(...excessPods(running, hash, sync.surge, minReadySeconds, now));
    } else {
      for (const pod of pods) if (!isPodTerminating(pod)) toDelete.push(pod);
    }
  }
  return { toCreate, toDelete };
}

/** Creates the pods of up to BURST_REPLICAS nodes (the rest on the next sync), none in a terminating namespace. */
function createPodsOn(sync: DaemonSync, nodeNames: readonly string[]): void {
  const { runtime, ds } = sync;
  if (sync.terminating) return;
  for (const nodeName of nodeNames.slice(0, BURST_REPLICAS)) {
    try {
      createPod(runtime, daemonPod(ds, sync.template, sync.hash, nodeName, sync.placement.tolerations));
      sync.writes++;
    } catch (err) {
      runtime.recordEvent(ds, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`, COMPONENT);
      break;
    }
  }
  if (nodeNames.length > BURST_REPLICAS) sync.requeue(sync.key, 0);
}

/** Deletes the pods, counting the writes. */
function deletePods(sync: DaemonSync, pods: readonly KubeObject[]): void {
  for (const pod of pods) deletePod(sync.runtime, pod);
  sync.writes += pods.length;
}

/** Rolling update: replaces pods of older templates within maxUnavailable / maxSurge. */
function rollOutdatedPods(sync: DaemonSync): void {
  const { spec, hash, shouldRunOn, minReadySeconds, now } = sync;
  const strategy = rec(spec['updateStrategy']);
  const outdated = (pods: readonly KubeObject[]) => pods.some((p) => !isPodTerminating(p) && p.metadata.labels?.[HASH_LABEL] !== hash);
  if (strategy['type'] === 'OnDelete' || !outdated(refresh(sync))) return;
  const desired = [...sync.nodes.keys()].filter(shouldRunOn).length;
  const current = podsByNode(sync.owned);
  const rolling = rec(strategy['rollingUpdate']);
  const { deletes, creates, waitMs } = sync.surge
    ? surgeRollingUpdate(current, shouldRunOn, hash, scaledValue(rolling['maxSurge'], desired, true), desired, minReadySeconds, now)
    : rollingUpdate(current, hash, Math.max(1, scaledValue(rolling['maxUnavailable'] ?? 1, desired, true)), minReadySeconds, now);
  if (waitMs !== undefined) sync.recheckInMs = Math.min(sync.recheckInMs ?? Infinity, waitMs);
  createPodsOn(sync, creates);
  deletePods(sync, deletes);
}

/** Status, from the oldest live pod on each node. */
function writeDaemonSetStatus(sync: DaemonSync, finalByNode: ReadonlyMap<string, KubeObject[]>): void {
  const { runtime, ds, hash, now, minReadySeconds, shouldRunOn } = sync;
  let desiredNumberScheduled = 0;
  let currentNumberScheduled = 0;
  let numberMisscheduled = 0;
  let numberReady = 0;
  let numberAvailable = 0;
  let updatedNumberScheduled = 0;
  for (const node of sync.nodes.values()) {
    const pods = finalByNode.get(node.metadata.name) ?? [];
    if (!shouldRunOn(node.metadata.name)) {
      if (pods.length > 0) numberMisscheduled++;
      continue;
    }
    desiredNumberScheduled++;
    const oldest = pods.length > 1 ? [...pods].sort(byScheduledThenAge)[0] : pods[0];
    if (!oldest) continue;
    currentNumberScheduled++;
    if (isPodReady(oldest)) {
      numberReady++;
      const wait = msUntilAvailable(oldest, minReadySeconds, now);
      if (wait === 0) numberAvailable++;
      else sync.recheckInMs = Math.min(sync.recheckInMs ?? Infinity, wait);
    }
    if (oldest.metadata.labels?.[HASH_LABEL] === hash) updatedNumberScheduled++;
  }
  const previous = rec(ds.status);
  writeStatus(runtime, kindDef('DaemonSet'), ds, {
    currentNumberScheduled,
    numberMisscheduled,
    desiredNumberScheduled,
    numberReady,
    ...omitZero('observedGeneration', ds.metadata.generation ?? 0),
    ...omitZero('updatedNumberScheduled', updatedNumberScheduled),
    ...omitZero('numberAvailable', numberAvailable),
    ...omitZero('numberUnavailable', desiredNumberScheduled - numberAvailable),
    ...(typeof previous['collisionCount'] === 'number' ? { collisionCount: previous['collisionCount'] } : {}),
    ...(Array.isArray(previous['conditions']) ? { conditions: previous['conditions'] } : {}),
  });
}

/**
 * The pod for one node. The controller sets the node through required node affinity `metadata.name In [node]`, as
 * upstream does for the scheduler to honour, and ALSO binds the pod directly with spec.nodeName at creation: simpler,
 * what kwok-era simulators do, and it keeps daemon pods off the simulated scheduler's queue.
 */
function daemonPod(ds: KubeObject, template: Record<string, unknown>, hash: string, nodeName: string, tolerations: Toleration[]) {
  const templateSpec = rec(template['spec']);
  const affinity = rec(templateSpec['affinity']);
  const nodeAffinity = rec(affinity['nodeAffinity']);
  return podFromTemplate(ds, template, {
    generateName: `${ds.metadata.name}-`,
    labels: { [HASH_LABEL]: hash },
    spec: {
      nodeName,
      tolerations,
      affinity: {
        ...affinity,
        nodeAffinity: {
          ...nodeAffinity,
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
          },
        },
      },
    },
  });
}

/** The template's tolerations plus the daemon ones it lacks. */
function daemonTolerations(templateSpec: Record<string, unknown>): Toleration[] {
  const own = (Array.isArray(templateSpec['tolerations']) ? templateSpec['tolerations'] : []).filter(isRecord) as unknown as Toleration[];
  const wanted = templateSpec['hostNetwork'] === true ? [...DAEMON_TOLERATIONS, HOST_NETWORK_TOLERATION] : DAEMON_TOLERATIONS;
  const out = [...own];
  for (const t of wanted) {
    if (!own.some((o) => o.key === t.key && (o.operator ?? 'Equal') === t.operator && o.effect === t.effect)) out.push(t);
  }
  return out;
}

function requiredTerms(templateSpec: Record<string, unknown>): Record<string, unknown>[] | undefined {
  const required = rec(rec(rec(templateSpec['affinity'])['nodeAffinity'])['requiredDuringSchedulingIgnoredDuringExecution']);
  const terms = required['nodeSelectorTerms'];
  return Array.isArray(terms) ? terms.filter(isRecord) : undefined;
}

/**
 * Fit results by what they depend on: the node's `spec` (taints) and labels objects, then the placement. Status
 * writes (every heartbeat) keep both objects, so results outlive the node object; a write that changes either makes
 * new ones. Every DaemonSet has its entry, so a full sync of one does not throw away another's.
 */
const fitCache = new WeakMap<object, WeakMap<object, Map<string, { name: string; fit: Fit }>>>();

/** nodeShouldRunDaemonPod, remembered while neither the node's labels and taints nor the DaemonSet's template change. */
function cachedFit(node: KubeObject, placementKey: string, placement: Placement): Fit {
  const { spec } = node;
  const { labels, name } = node.metadata;
  if (!spec || !labels) return nodeShouldRunDaemonPod(node, placement);
  let byLabels = fitCache.get(spec);
  if (!byLabels) fitCache.set(spec, (byLabels = new WeakMap<object, Map<string, { name: string; fit: Fit }>>()));
  let byPlacement = byLabels.get(labels);
  if (!byPlacement) byLabels.set(labels, (byPlacement = new Map<string, { name: string; fit: Fit }>()));
  const cached = byPlacement.get(placementKey);
  // The name counts too (a placement may pin it); objects are never shared between nodes, so this only guards.
  if (cached?.name === name) return cached.fit;
  const fit = nodeShouldRunDaemonPod(node, placement);
  byPlacement.set(placementKey, { name, fit });
  return fit;
}

/**
 * `NodeShouldRunDaemonPod`: shouldRun when nodeName, nodeSelector, required node affinity and NoSchedule/NoExecute
 * taints all allow a new pod; shouldContinueRunning also when only NoSchedule taints are not tolerated.
 */
function nodeShouldRunDaemonPod(node: KubeObject, placement: Placement): Fit {
  if (placement.nodeName && placement.nodeName !== node.metadata.name) return NO_FIT;
  const labels = node.metadata.labels ?? {};
  if (!nodeSelectorMatches(placement.nodeSelector, labels)) return NO_FIT;
  if (!nodeSelectorTermsMatch(placement.terms, { name: node.metadata.name, labels })) return NO_FIT;
  const taints = nodeTaints(node);
  // An untolerated NoExecute taint would evict the pod; an untolerated NoSchedule one only keeps a new pod away.
  if (findUntoleratedTaint(taints, placement.tolerations, ['NoExecute'])) return NO_FIT;
  const noSchedule = findUntoleratedTaint(taints, placement.tolerations, ['NoSchedule']) !== undefined;
  return { shouldRun: !noSchedule, shouldContinueRunning: true };
}

/** Whether a daemon pod counts as its node's: all do but finished pods already being deleted. */
function countsOnNode(pod: KubeObject): boolean {
  return !(isPodTerminal(pod) && isPodTerminating(pod));
}

/** Daemon pods by the node they are bound to, leaving out finished pods already being deleted. */
function podsByNode(pods: readonly KubeObject[]): Map<string, KubeObject[]> {
  const out = new Map<string, KubeObject[]>();
  for (const pod of pods) {
    if (!countsOnNode(pod)) continue;
    const node = podNodeName(pod) || affinityNode(pod);
    let list = out.get(node);
    if (!list) out.set(node, (list = []));
    list.push(pod);
  }
  return out;
}

/** The node named by a daemon pod's `metadata.name In [node]` affinity (an unbound daemon pod). */
function affinityNode(pod: KubeObject): string {
  const terms = requiredTerms(rec(pod.spec)) ?? [];
  for (const term of terms) {
    for (const f of (Array.isArray(term['matchFields']) ? term['matchFields'] : []).filter(isRecord)) {
      if (f['key'] === 'metadata.name' && Array.isArray(f['values']) && typeof f['values'][0] === 'string') return f['values'][0];
    }
  }
  return '';
}

/** Scheduled before unscheduled, then oldest first, then by name (`podByCreationTimestampAndPhase`). */
function byScheduledThenAge(a: KubeObject, b: KubeObject): number {
  const sa = podNodeName(a) ? 0 : 1;
  const sb = podNodeName(b) ? 0 : 1;
  if (sa !== sb) return sa - sb;
  const d = (Date.parse(a.metadata.creationTimestamp) || 0) - (Date.parse(b.metadata.creationTimestamp) || 0);
  return d !== 0 ? d : a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

function surgeAllowed(spec: Record<string, unknown>): boolean {
  const strategy = rec(spec['updateStrategy']);
  if (strategy['type'] === 'OnDelete') return false;
  const surge = rec(strategy['rollingUpdate'])['maxSurge'];
  return surge !== undefined && surge !== 0 && surge !== '0%' && surge !== '0';
}

/**
 * More than one running daemon pod on a node: without surge keep the oldest; with surge keep the oldest of the
 * current template and the oldest of an older one, dropping the old one once the new one is available.
 */
function excessPods(running: KubeObject[], hash: string, surge: boolean, minReadySeconds: number, now: number): KubeObject[] {
  const sorted = [...running].sort(byScheduledThenAge);
  if (!surge) return sorted.slice(1);
  const out: KubeObject[] = [];
  let oldestNew: KubeObject | undefined;
  let oldestOld: KubeObject | undefined;
  for (const pod of sorted) {
    if (pod.metadata.labels?.[HASH_LABEL] === hash) {
      if (!oldestNew) {
        oldestNew = pod;
        continue;
      }
    } else if (!oldestOld) {
      oldestOld = pod;
      continue;
    }
    out.push(pod);
  }
  if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, minReadySeconds, now))) out.push(oldestOld);
  return out;
}

/** A node's one new-template pod and one old-template pod; not ok when it has more of either. */
function updatedPodsOnNode(pods: readonly KubeObject[], hash: string): { newPod?: KubeObject; oldPod?: KubeObject; ok: boolean } {
  let newPod: KubeObject | undefined;
  let oldPod: KubeObject | undefined;
  for (const pod of pods) {
    if (isPodTerminating(pod)) continue;
    if (pod.metadata.labels?.[HASH_LABEL] === hash) {
      if (newPod) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod) return { ok: false };
      oldPod = pod;
    }
  }
  return { newPod, oldPod, ok: true };
}

interface RollingStep {
  deletes: KubeObject[];
  creates: string[];
  /** When a pod becomes available (minReadySeconds), to look again. */
  waitMs?: number;
}

/** Rolling update without surge: delete old pods while fewer than maxUnavailable nodes lack an available pod. */
function rollingUpdate(byNode: Map<string, KubeObject[]>, hash: string, maxUnavailable: number, minReadySeconds: number, now: number): RollingStep {
  let numUnavailable = 0;
  const allowed: KubeObject[] = [];
  const candidates: KubeObject[] = [];
  let waitMs: number | undefined;
  for (const pods of byNode.values()) {
    const { newPod, oldPod, ok } = updatedPodsOnNode(pods, hash);
    if (!ok || (!oldPod && !newPod) || (oldPod && newPod)) {
      numUnavailable++;
    } else if (newPod) {
      const wait = msUntilAvailable(newPod, minReadySeconds, now);
      if (wait !== 0) {
        numUnavailable++;
        if (Number.isFinite(wait)) waitMs = Math.min(waitMs ?? Infinity, wait);
      }
    } else if (oldPod) {
      if (!isPodAvailable(oldPod, minReadySeconds, now)) allowed.push(oldPod);
      else if (numUnavailable < maxUnavailable) candidates.push(oldPod);
    }
  }
  const remaining = Math.min(Math.max(0, maxUnavailable - numUnavailable), candidates.length);
  return { deletes: [...allowed, ...candidates.slice(0, remaining)], creates: [], ...(waitMs !== undefined ? { waitMs } : {}) };
}

/**
 * Rolling update with surge: start a new pod beside an old one (at most maxSurge at a time, at once where the old
 * one is unavailable), and delete the old pod when the new one is available.
 */
function surgeRollingUpdate(
  byNode: Map<string, KubeObject[]>,
  shouldRunOn: (nodeName: string) => boolean,
  hash: string,
  maxSurge: number,
  desired: number,
  minReadySeconds: number,
  now: number,
): RollingStep {
  const deletes: KubeObject[] = [];
  const shouldNotRun: KubeObject[] = [];
  const candidates: string[] = [];
  const allowedNew: string[] = [];
  let numSurge = 0;
  let numAvailable = 0;
  let waitMs: number | undefined;
  for (const [nodeName, pods] of byNode) {
    const { newPod, oldPod, ok } = updatedPodsOnNode(pods, hash);
    if (!ok) {
      numSurge++;
      continue;
    }
    const shown = oldPod ?? newPod;
    if (shown && isPodAvailable(shown, minReadySeconds, now)) numAvailable++;
    if (!oldPod) continue;
    const shouldRun = shouldRunOn(nodeName);
    if (!newPod) {
      if (!isPodAvailable(oldPod, minReadySeconds, now)) {
        if (!shouldRun) deletes.push(oldPod);
        else allowedNew.push(nodeName);
      } else if (!shouldRun) {
        shouldNotRun.push(oldPod);
      } else if (numSurge < maxSurge) {
        candidates.push(nodeName);
      }
    } else {
      const wait = msUntilAvailable(newPod, minReadySeconds, now);
      if (wait !== 0) {
        numSurge++;
        if (Number.isFinite(wait)) waitMs = Math.min(waitMs ?? Infinity, wait);
        continue;
      }
      deletes.push(oldPod);
    }
  }
  const deletable = Math.min(Math.max(0, numAvailable - desired), shouldNotRun.length);
  deletes.push(...shouldNotRun.slice(0, deletable));
  const remainingSurge = Math.min(Math.max(0, maxSurge - numSurge), candidates.length);
  return { deletes, creates: [...allowedNew, ...candidates.slice(0, remainingSurge)], ...(waitMs !== undefined ? { waitMs } : {}) };
}
