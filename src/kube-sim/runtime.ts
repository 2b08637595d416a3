/**
 * What runs behind the simulated apiserver shares this runtime: the store and the registry (so controllers write
 * with the apiserver's rules), the clock and timers (so stop() leaves nothing running), the timings, the machines
 * (the simulated hosts and their kubelets: state the Kubernetes API does not hold), and the faults in force.
 */
import type { Registry } from './api/registry.ts';
import type { ApiFaults } from './api/request-context.ts';
import type { ResourceDef } from './api/resources.ts';
import { ALL_RESOURCES } from './api/resources.ts';
import type { KubeObject } from './model/wire.ts';
import type { NodeCapacity, Timings, WorkloadRef } from './scenario/types.ts';
import type { ObjectStore } from './store/object-store.ts';

/** A node's role. */
export type MachineRole = 'control-plane' | 'worker';

/** The health the simulation gives a machine's kubelet. */
export type MachineHealth = 'healthy' | 'never-ready' | 'not-ready';

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
}

/** A timer handle the runtime can cancel. */
export interface Cancel {
  (): void;
}

/** The shared runtime of one simulated cluster. */
export interface SimRuntime {
  readonly store: ObjectStore;
  readonly registry: Registry;
  readonly timings: Timings;
  readonly faults: SimFaults;
  /** The simulated hosts, by node name. */
  readonly machines: Map<string, Machine>;
  now(): number;
  /** Runs `fn` after `ms` (0: on the next turn of the event loop); cancelled on stop. */
  after(ms: number, fn: () => void): Cancel;
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
