/**
 * What runs behind the simulated apiserver shares this runtime: the store and the registry (so controllers write
 * with the apiserver's rules), the clock and timers (so stop() leaves nothing running, and a test can tell when the
 * controllers are idle), the timings, the machines (the simulated hosts and their kubelets: state the Kubernetes API
 * does not hold), and the faults in force.
 */
import type { Cancel, Clock } from '../clock/clock.ts';
import { systemClock } from '../clock/clock.ts';
import type { Registry } from './api/registry.ts';
import type { ApiFaults } from './api/request-context.ts';
import type { ResourceDef } from './api/resources.ts';
import { ALL_RESOURCES } from './api/resources.ts';
import type { KubeObject } from './model/wire.ts';
import type { ContainerFaultRule, NodeCapacity, Timings, WorkloadRef } from './scenario/types.ts';
import type { ObjectStore } from './store/object-store.ts';

/** A node's role. */
export type MachineRole = 'control-plane' | 'worker';

/**
 * The health the simulation gives a machine's kubelet: `not-ready` and `never-ready` kubelets run and post Ready=False
 * (KubeletNotReady); a `kubelet-down` one has stopped and posts nothing (no status, no Lease), so the node lifecycle
 * controller turns the node Unknown (NodeStatusUnknown) after the grace period and taints it unreachable.
 */
export type MachineHealth = 'healthy' | 'never-ready' | 'not-ready' | 'kubelet-down';

/** Where a machine is in its life. */
export type MachineState = 'booting' | 'running' | 'stopped';

/** The versions of one control-plane node's components (static pods). */
export interface ControlPlaneComponents {
  etcd: string;
  'kube-apiserver': string;
  'kube-controller-manager': string;
  'kube-scheduler': string;
}

/** A simulated host: what a cloud provider and a kubelet know about a node. */
export interface Machine {
  name: string;
  role: MachineRole;
  /** The worker pool, for workers. */
  pool?: string;
  kubeletVersion: string;
  machineImage: string;
  capacity: NodeCapacity;
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
  state: MachineState;
  health: MachineHealth;
  /** When the machine finished (or will finish) booting, ms epoch. */
  readyAt: number;
  /** Control-plane nodes only. */
  components?: ControlPlaneComponents;
}

/** Faults the simulation (rather than the API layer) injects; mutable at run time. */
export interface SimFaults extends ApiFaults {
  /** Machines created under these names (or any machine of these pools, as `pool/*`) never become Ready. */
  nodesNeverReady: Set<string>;
  /** Workloads whose pods' evictions are refused (as a validating webhook would). */
  evictionRefused: WorkloadRef[];
  snapshotFailure: boolean;
  /** Containers that fail, by image (the kubelets read it whenever they start or restart a container). */
  containerFaults: ContainerFaultRule[];
}

/** A timer handle the runtime can cancel. */
export type { Cancel };

/** The shared runtime of one simulated cluster. */
export interface SimRuntime {
  readonly store: ObjectStore;
  readonly registry: Registry;
  readonly timings: Timings;
  readonly faults: SimFaults;
  /** The simulated hosts, by node name. */
  readonly machines: Map<string, Machine>;
  /**
   * The clock behind `now()` and `after()` (a ManualClock in tests). Controllers set timers through `after()`, not
   * on the clock itself: that is what `stop()` cancels and `idle()` counts.
   */
  readonly clock: Clock;
  /** `clock.now()`. */
  now(): number;
  /** Runs `fn` after `ms` on the clock (0: on the next turn of the event loop, whatever the clock); cancelled on stop. */
  after(ms: number, fn: () => void): Cancel;
  /**
   * Marks work begun outside a timer (a work queue with keys waiting); call the returned function when it is done.
   * {@link SimRuntime.idle} waits for it.
   */
  beginWork(): Cancel;
  /**
   * Resolves once the controllers are idle: no work queue has work and no 0-ms timer is waiting. Timers set for
   * later do not count (under a ManualClock they run when the test advances it; under the wall clock they are
   * the simulation's timings), nor do clients' requests in flight.
   */
  idle(): Promise<void>;
  /** Records a core/v1 Event about an object, as components do (kubectl describe shows them). */
  recordEvent(about: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void;
  /** Whether the cluster is stopping: controllers stop starting work. */
  stopped(): boolean;
}

/** The storage-version ResourceDef of a kind (what controllers write through). */
export function kindDef(kind: string): ResourceDef {
  const def = ALL_RESOURCES.find((r) => r.kind === kind && r.version === r.storageVersion);
  if (!def) throw new Error(`kube-sim: no resource for kind ${kind}`);
  return def;
}

/**
 * The timers and the work accounting of one runtime, on one clock: what `after`, `beginWork`, `idle` and a stop
 * share, so the test runtime and the served cluster count work the same way.
 */
export class RuntimeTimers {
  private stopping = false;
  private readonly cancels = new Set<Cancel>();
  private busy = 0;
  private readonly idleWaiters: (() => void)[] = [];

  /** @param clock where delayed timers go. @default systemClock */
  constructor(readonly clock: Clock = systemClock) {}

  /** See {@link SimRuntime.after}. */
  readonly after = (ms: number, fn: () => void): Cancel => {
    if (this.stopping) return noop;
    // A 0-ms timer is not time but "after the current write": it runs on the event loop under any clock (a
    // ManualClock would hold it until the next advance) and counts as work until it has run.
    const immediate = ms <= 0;
    const done = immediate ? this.beginWork() : noop;
    const fire = () => {
      this.cancels.delete(cancel);
      try {
        if (!this.stopping) fn();
      } finally {
        done();
      }
    };
    const cancelTimer = immediate ? systemClock.after(0, fire) : this.clock.after(ms, fire);
    const cancel: Cancel = () => {
      cancelTimer();
      this.cancels.delete(cancel);
      done();
    };
    this.cancels.add(cancel);
    return cancel;
  };

  /** See {@link SimRuntime.beginWork}. */
  readonly beginWork = (): Cancel => {
    if (this.stopping) return noop;
    this.busy += 1;
    let finished = false;
    return () => {
      if (finished || this.stopping) return;
      finished = true;
      this.busy -= 1;
      if (this.busy === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    };
  };

  /** See {@link SimRuntime.idle}. */
  readonly idle = async (): Promise<void> => {
    for (;;) {
      // One macrotask first: microtasks (a queue's first drain) and callbacks of this turn run before the count is read.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.busy === 0 || this.stopping) return;
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  };

  /** Whether {@link RuntimeTimers.stop} was called. */
  readonly stopped = (): boolean => this.stopping;

  /** Cancels every timer; later `after` calls do nothing, and `idle` resolves. */
  stop(): void {
    this.stopping = true;
    for (const cancel of [...this.cancels]) cancel();
    this.busy = 0;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

function noop(): void {}
