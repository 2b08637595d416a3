/**
 * A small SimRuntime for unit tests, built as `startSimCluster` builds its own (same collections, same indexes, a real
 * ObjectStore and Registry, the same timers and idle signal) but without HTTP. Zero-delay timings by default so
 * tests run at once; with a ManualClock, delayed timers wait for the test to advance it, and `advance` waits for the
 * controllers to be idle after each timer.
 */
import type { Clock } from '../../clock/clock.ts';
import { systemClock } from '../../clock/clock.ts';
import { ManualClock } from '../../clock/manual-clock.ts';
import { Registry } from '../api/registry.ts';
import type { KubeObject, OwnerReference } from '../model/wire.ts';
import type { Machine, SimFaults, SimRuntime } from '../runtime.ts';
import { RuntimeTimers, kindDef } from '../runtime.ts';
import { ZERO_DELAY_TIMINGS } from '../scenario/defaults.ts';
import type { Timings } from '../scenario/types.ts';
import { createClusterStore } from '../store/cluster-store.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** Options of createTestRuntime. */
export interface TestRuntimeOptions {
  /** Timings; missing fields are 0. @default zero delays */
  timings?: Partial<Timings>;
  /** Faults to start with. @default none */
  faults?: Partial<SimFaults>;
  /**
   * The clock. A ManualClock holds delayed timers until the test advances it (0-ms timers still run on the next
   * turn of the event loop), and its `advance` then waits on this runtime's idle signal between timers.
   * @default systemClock
   */
  clock?: Clock;
  /** The Kubernetes minor the API server's defaulting and validation follow. @default 33 */
  minor?: number;
}

/** A test runtime and what a test needs to end it. */
export interface TestRuntime extends SimRuntime {
  /** Events recorded through recordEvent, newest last (kept in memory only: tests assert on them without a store scan). */
  readonly events: { reason: string; type: string; message: string; object: string }[];
  /** Cancels every timer; later `after` calls do nothing. */
  stop(): void;
}

/** A store as a simulated cluster has it (every collection, the indexes controllers rely on). */
export function createTestStore(): ObjectStore {
  return createClusterStore();
}

/** Builds a SimRuntime over a fresh store, for unit tests. Call `stop()` at the end of the test. */
export function createTestRuntime(options: TestRuntimeOptions = {}): TestRuntime {
  const store = createTestStore();
  const clock = options.clock ?? systemClock;
  const minor = options.minor ?? 33;
  const registry = new Registry(store, () => clock.now(), () => minor);
  const timers = new RuntimeTimers(clock);
  const unquiesce = clock instanceof ManualClock ? clock.quiesceOn(timers.idle) : undefined;
  const faults: SimFaults = {
    errorRate: 0,
    latencyMs: 0,
    nodesNeverReady: new Set(),
    evictionRefused: [],
    snapshotFailure: false,
    containerFaults: [],
    ...options.faults,
  };
  const events: TestRuntime['events'] = [];
  return {
    store,
    registry,
    timings: { ...ZERO_DELAY_TIMINGS, ...options.timings },
    faults,
    machines: new Map<string, Machine>(),
    clock,
    now: () => clock.now(),
    events,
    after: timers.after,
    beginWork: timers.beginWork,
    idle: timers.idle,
    recordEvent(about, type, reason, message) {
      events.push({
        reason,
        type,
        message,
        object: `${about.kind}/${about.metadata.namespace ? `${about.metadata.namespace}/` : ''}${about.metadata.name}`,
      });
    },
    stopped: timers.stopped,
    stop() {
      timers.stop();
      unquiesce?.();
    },
  };
}

// ---- fixtures: objects written through the registry, as a user or a controller would ---------------------------

/** Creates a namespace (idempotent). */
export function createNamespace(rt: SimRuntime, name: string): void {
  if (!rt.store.get('core/namespaces', undefined, name))
    rt.registry.create(kindDef('Namespace'), undefined, { metadata: { name } });
}

/** The controller owner reference pointing at `owner`. */
export function controllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Options of createWorkload. */
export interface WorkloadFixtureOptions {
  replicas: number;
  /** Pod template labels (and selector). @default { app: name } */
  labels?: Record<string, string>;
}

/** Creates a Deployment, StatefulSet, ReplicaSet or DaemonSet (its namespace too); no pods. */
export function createWorkload(
  rt: SimRuntime,
  kind: 'Deployment' | 'StatefulSet' | 'ReplicaSet' | 'DaemonSet',
  namespace: string,
  name: string,
  options: WorkloadFixtureOptions,
  ownerReferences?: OwnerReference[],
): KubeObject {
  createNamespace(rt, namespace);
  const labels = options.labels ?? { app: name };
  return rt.registry.create(kindDef(kind), namespace, {
    metadata: { name, ...(ownerReferences ? { ownerReferences } : {}) },
    spec: {
      ...(kind === 'DaemonSet' ? {} : { replicas: options.replicas }),
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9' }] } },
    },
  });
}

/** Options of createPod. */
export interface PodFixtureOptions {
  labels?: Record<string, string>;
  /** The pod's controller. */
  owner?: KubeObject;
  /** @default 'node-1' */
  nodeName?: string;
  /** @default 'Running' */
  phase?: string;
  /** Condition Ready=True. @default true */
  ready?: boolean;
  terminationGracePeriodSeconds?: number;
}

/** Creates a pod as if scheduled and started (Running, Ready unless told otherwise). */
export function createPod(
  rt: SimRuntime,
  namespace: string,
  name: string,
  options: PodFixtureOptions = {},
): KubeObject {
  createNamespace(rt, namespace);
  const ready = options.ready ?? true;
  return rt.registry.create(kindDef('Pod'), namespace, {
    metadata: {
      name,
      labels: options.labels ?? {},
      ...(options.owner ? { ownerReferences: [controllerRef(options.owner)] } : {}),
    },
    spec: {
      nodeName: options.nodeName ?? 'node-1',
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9' }],
      ...(options.terminationGracePeriodSeconds !== undefined
        ? { terminationGracePeriodSeconds: options.terminationGracePeriodSeconds }
        : {}),
    },
    status: {
      phase: options.phase ?? 'Running',
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          lastProbeTime: null,
          lastTransitionTime: new Date(rt.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      ],
    },
  });
}

/** Sets a pod's Ready condition (a status write, as the kubelet does). */
export function setPodReady(rt: SimRuntime, namespace: string, name: string, ready: boolean): KubeObject {
  const pod = rt.store.mustGet('core/pods', namespace, name);
  const conditions = (Array.isArray(pod.status?.['conditions']) ? pod.status['conditions'] : []).filter(
    (c: unknown) => !(typeof c === 'object' && c !== null && (c as Record<string, unknown>)['type'] === 'Ready'),
  );
  conditions.push({
    type: 'Ready',
    status: ready ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: new Date(rt.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  return rt.registry.update(
    kindDef('Pod'),
    namespace,
    name,
    { metadata: {}, status: { ...pod.status, conditions } },
    { subresource: 'status' },
  );
}

// ---- a stand-in for the scheduler and kubelets, for controller tests --------------------------------------------

/** Options of startFakeKubelet. */
export interface FakeKubeletOptions {
  /** Bind unbound pods to this node first (the scheduler's job). @default none: unbound pods start unbound */
  bindTo?: string;
  /** ms from a pod seen to the pod Running and Ready. @default 0 */
  startMs?: number;
  /** Pods it must not start (they stay Pending); their deletions are still finished. @default none */
  skip?: (pod: KubeObject) => boolean;
}

/**
 * A few lines of kubelet for controller tests: pods become Running and Ready (bound to `bindTo` first when given),
 * and graceful deletions finish at once (delete with grace 0), as a kubelet with nothing to stop would. Returns its
 * stop function.
 */
export function startFakeKubelet(rt: SimRuntime, options: FakeKubeletOptions = {}): () => void {
  const podDef = kindDef('Pod');
  const scheduled = new Set<string>();
  let stopped = false;
  const handle = (namespace: string | undefined, name: string, uid: string): void => {
    const pod = rt.store.get('core/pods', namespace, name);
    if (stopped || !pod || pod.metadata.uid !== uid) return;
    if (pod.metadata.deletionTimestamp) {
      rt.registry.delete(podDef, namespace, name, { gracePeriodSeconds: 0 });
      return;
    }
    if (options.skip?.(pod)) return;
    let current = pod;
    if (options.bindTo && !pod.spec?.['nodeName']) {
      current = rt.registry.update(podDef, namespace, name, {
        ...pod,
        spec: { ...pod.spec, nodeName: options.bindTo },
      });
    }
    if (current.status?.['phase'] === 'Running') return;
    const now = new Date(rt.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    const conditions = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({
      type,
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: now,
    }));
    rt.registry.update(
      podDef,
      namespace,
      name,
      { ...current, status: { ...current.status, phase: 'Running', conditions, startTime: now } },
      { subresource: 'status' },
    );
  };
  const unsubscribe = rt.store.subscribe((event) => {
    if (event.storage !== 'core/pods' || event.type === 'DELETED') return;
    const pod = event.object;
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    if (!terminating && pod.status?.['phase'] === 'Running' && (!options.bindTo || pod.spec?.['nodeName'])) return;
    const key = `${pod.metadata.uid}:${terminating ? 'delete' : 'start'}`;
    if (scheduled.has(key)) return;
    scheduled.add(key);
    rt.after(terminating ? 0 : (options.startMs ?? 0), () => {
      scheduled.delete(key);
      handle(pod.metadata.namespace, pod.metadata.name, pod.metadata.uid);
    });
  });
  return () => {
    stopped = true;
    unsubscribe();
  };
}
