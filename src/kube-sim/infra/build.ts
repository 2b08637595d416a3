/**
 * Builds the cluster a scenario describes inside a running simulation: the namespaces, the control-plane machines
 * with their static pods, the worker machines of each pool, the system add-ons kubeadm installs, the workloads with
 * their PodDisruptionBudgets, and the legacy objects. Everything is written through the registry, and the pods are
 * made by the controllers and placed by the scheduler and kubelets that already run, as in a real cluster.
 *
 * Node names come from `scenarioNodes`: control-plane nodes are `control-plane-0..N-1` and workers `<pool>-0..N-1`
 * (indexes from 0), so that fault references (`pool/index`) and pinned pods resolve to the same names.
 */
import type { KubeObject } from '../model/wire.ts';
import type { ControlPlaneComponents, Machine, SimRuntime } from '../runtime.ts';
import { kindDef } from '../runtime.ts';
import { scenarioNodes } from '../scenario/nodes.ts';
import type { Scenario } from '../scenario/types.ts';
import { machineForScenarioNode, nudgeKubelet, registerNode } from './machines.ts';
import type { ObjectToCreate } from './objects.ts';
import { SYSTEM_NAMESPACES, legacyObject, systemObjects, workloadObjects } from './objects.ts';
import type { SettleResult, SettleTarget } from './settle.ts';
import { settleTimeoutMs, waitForSettled } from './settle.ts';
import { CONTROL_PLANE_COMPONENTS, writeStaticPod } from './static-pods.ts';
import { etcdVersionFor } from './versions.ts';

/** Options of buildCluster. */
export interface BuildClusterOptions {
  /**
   * Wait until the workloads have settled (their pods Running and Ready, or blocked by a fault) before resolving.
   * @default true
   */
  waitForSettle?: boolean;
  /** Longest wait for the cluster to settle. @default settleTimeoutMs(runtime.timings) */
  settleTimeoutMs?: number;
  /** Writes between two yields to the event loop, so the controllers keep up. @default 200 */
  batchSize?: number;
}

/** The control-plane component versions of a cluster at `version`, as kubeadm installs them. */
export function componentsFor(version: string): ControlPlaneComponents {
  return {
    etcd: etcdVersionFor(version),
    'kube-apiserver': version,
    'kube-controller-manager': version,
    'kube-scheduler': version,
  };
}

/** Yields to the event loop every `batchSize` calls. */
class Batcher {
  private count = 0;
  constructor(private readonly batchSize: number) {}
  async tick(): Promise<void> {
    this.count += 1;
    if (this.count % this.batchSize === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Creates everything the scenario describes and (by default) waits for it to settle. Healthy machines run at once
 * (readyAt = now), so a scenario is ready as soon as the kubelets have started the pods; `faults.nodesNotReady`
 * machines are NotReady from the start. Resolves with how the settling went (never rejects for an unsettled cluster:
 * a faulty scenario may never settle fully).
 */
export async function buildCluster(runtime: SimRuntime, scenario: Scenario, options: BuildClusterOptions = {}): Promise<SettleResult | undefined> {
  const batch = new Batcher(Math.max(1, options.batchSize ?? 200));
  const version = scenario.kubernetesVersion.replace(/^v/, '');
  const create = (item: ObjectToCreate): KubeObject => runtime.registry.create(kindDef(item.kind), item.namespace, item.object);

  // Namespaces first: everything else lives in one.
  const namespaces = new Set<string>(SYSTEM_NAMESPACES);
  for (const w of scenario.workloads) namespaces.add(w.namespace);
  const legacy = scenario.legacyObjects.flatMap((spec) => {
    const def = tryKindDef(spec.kind);
    if (!def) return [];
    const item = legacyObject(spec, def.namespaced);
    if (item.namespace !== undefined) namespaces.add(item.namespace);
    return [item];
  });
  const skipped = scenario.legacyObjects.filter((spec) => !tryKindDef(spec.kind));
  if (skipped.length > 0) {
    console.warn(`kube-sim: legacy objects of kinds kube-sim does not store were skipped: ${[...new Set(skipped.map((s) => `${s.apiVersion} ${s.kind}`))].join(', ')}`);
  }
  for (const name of namespaces) {
    if (!runtime.store.get('core/namespaces', undefined, name)) create({ kind: 'Namespace', object: { metadata: { name } } });
    await batch.tick();
  }

  // Machines and their Nodes, control plane first (its static pods need the Node's uid and address).
  const notReady = new Set(scenario.faults.nodesNotReady);
  const kubeletDown = new Set(scenario.faults.nodesKubeletDown);
  const controlPlane: Machine[] = [];
  for (const node of scenarioNodes(scenario)) {
    const components = node.role === 'control-plane' ? componentsFor(version) : undefined;
    const machine = machineForScenarioNode(runtime, node, notReady.has(node.name) ? 'not-ready' : kubeletDown.has(node.name) ? 'kubelet-down' : 'healthy', components);
    runtime.machines.set(machine.name, machine);
    registerNode(runtime, machine);
    nudgeKubelet(runtime, machine.name);
    if (machine.role === 'control-plane') controlPlane.push(machine);
    await batch.tick();
  }
  for (const machine of controlPlane) {
    for (const component of CONTROL_PLANE_COMPONENTS) writeStaticPod(runtime, machine, component);
    await batch.tick();
  }

  // System add-ons, then the workloads and their budgets, then the legacy objects.
  const targets: SettleTarget[] = [];
  const track = (item: ObjectToCreate) => {
    if (['Deployment', 'StatefulSet', 'DaemonSet', 'Pod'].includes(item.kind) && item.namespace !== undefined) {
      const name = item.object.metadata?.name;
      if (typeof name === 'string') targets.push({ kind: item.kind, namespace: item.namespace, name });
    }
  };
  for (const item of systemObjects(scenario)) {
    create(item);
    track(item);
    await batch.tick();
  }
  for (const workload of scenario.workloads) {
    for (const item of workloadObjects(workload)) {
      create(item);
      track(item);
      await batch.tick();
    }
  }
  for (const item of legacy) {
    create(item);
    await batch.tick();
  }

  let result: SettleResult | undefined;
  if (options.waitForSettle ?? true) {
    result = await waitForSettled(runtime, targets, options.settleTimeoutMs ?? settleTimeoutMs(runtime.timings));
    if (!result.settled && !runtime.stopped()) {
      console.warn(`kube-sim: scenario ${scenario.name} did not settle in ${result.elapsedMs} ms; still waiting on: ${result.unsettled.join(', ')}`);
    }
  }
  // API faults start once the cluster stands: they are about clients' requests, not about building the scenario.
  runtime.faults.errorRate = scenario.faults.apiErrorRate;
  runtime.faults.latencyMs = scenario.faults.apiLatencyMs;
  return result;
}

function tryKindDef(kind: string) {
  try {
    return kindDef(kind);
  } catch {
    return undefined;
  }
}
