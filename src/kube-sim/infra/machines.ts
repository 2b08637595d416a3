/**
 * The simulated hosts behind the nodes: creating a machine (at once for the scenario's own nodes, or booting for
 * nodes added later), registering its Node as the kubelet does, and terminating it as a cloud provider does (the
 * Node object goes, the pods bound to it are left to the pod garbage collector).
 */
import { kubeletSync, nodeObjectFor } from '../controllers/kubelet.ts';
import type { KubeObject } from '../model/wire.ts';
import type { ControlPlaneComponents, Machine, MachineHealth, SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { POOL_LABEL } from '../scenario/nodes.ts';
import type { ScenarioNode } from '../scenario/nodes.ts';
import type { PoolSpec } from '../scenario/types.ts';

/** The health a new machine gets from the `nodesNeverReady` fault: by its name, or `pool/*` for a whole pool. */
export function healthForNewMachine(runtime: SimRuntime, name: string, pool: string | undefined): MachineHealth {
  const never = runtime.faults.nodesNeverReady;
  return never.has(name) || (pool !== undefined && never.has(`${pool}/*`)) ? 'never-ready' : 'healthy';
}

/** A running machine for one of the scenario's nodes (the cluster exists already when the simulation starts). */
export function machineForScenarioNode(
  runtime: SimRuntime,
  node: ScenarioNode,
  health: MachineHealth,
  components?: ControlPlaneComponents,
): Machine {
  return {
    name: node.name,
    role: node.role,
    ...(node.role === 'worker' ? { pool: node.pool } : {}),
    kubeletVersion: node.kubeletVersion,
    machineImage: node.machineImage,
    capacity: { ...node.capacity },
    labels: { ...node.labels },
    taints: node.taints.map((t) => ({ ...t })),
    state: 'running',
    health,
    readyAt: runtime.now(),
    ...(components ? { components: { ...components } } : {}),
  };
}

/** A new worker machine of a pool, not yet booted: labels and taints as the pool gives every node. */
export function newWorkerMachine(
  runtime: SimRuntime,
  pool: PoolSpec,
  name: string,
  version: string,
  machineImage: string,
  health: MachineHealth,
): Machine {
  return {
    name,
    role: 'worker',
    pool: pool.name,
    kubeletVersion: version,
    machineImage,
    capacity: { ...pool.capacity },
    labels: {
      ...pool.labels,
      'kubernetes.io/hostname': name,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      [POOL_LABEL]: pool.name,
    },
    taints: pool.taints.map((t) => ({ ...t })),
    state: 'booting',
    health,
    readyAt: runtime.now() + runtime.timings.nodeBoot,
  };
}

/** Creates the Node object of a machine if it has none, as a kubelet registers its node on start. */
export function registerNode(runtime: SimRuntime, machine: Machine): KubeObject {
  const existing = runtime.store.get('core/nodes', undefined, machine.name);
  if (existing) return existing;
  return runtime.registry.create(kindDef('Node'), undefined, nodeObjectFor(machine, runtime));
}

/** Tells the simulated kubelet of a node that its machine changed (state, health, versions). */
export function nudgeKubelet(runtime: SimRuntime, name: string): void {
  kubeletSync(runtime, name);
}

/**
 * Adds a machine that boots: it is `booting` for `timings.nodeBoot`, then runs and registers its Node; the kubelet
 * makes it Ready. A machine removed or replaced meanwhile is left alone.
 */
export function bootMachine(runtime: SimRuntime, machine: Machine): void {
  machine.state = 'booting';
  machine.readyAt = runtime.now() + runtime.timings.nodeBoot;
  runtime.machines.set(machine.name, machine);
  runtime.after(runtime.timings.nodeBoot, () => {
    if (runtime.machines.get(machine.name) !== machine || machine.state !== 'booting') return;
    machine.state = 'running';
    registerNode(runtime, machine);
    nudgeKubelet(runtime, machine.name);
  });
}

/**
 * Terminates a machine as a cloud provider does: the host stops, its Node object is deleted (the cloud node
 * lifecycle controller's job) and the machine is forgotten. Pods bound to the node are not touched here: the pod
 * garbage collector deletes them once their node is gone, as in a real cluster.
 */
export function terminateMachine(runtime: SimRuntime, name: string): void {
  const machine = runtime.machines.get(name);
  if (machine) {
    machine.state = 'stopped';
    nudgeKubelet(runtime, name);
  }
  if (runtime.store.get('core/nodes', undefined, name)) {
    runtime.registry.delete(kindDef('Node'), undefined, name);
  }
  runtime.machines.delete(name);
}
