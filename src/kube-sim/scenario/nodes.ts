/**
 * The nodes a scenario stands for, with the names, labels and taints the simulator gives them. Fault references,
 * pinned pods, DaemonSet pod counts and the generator's capacity planning all read them from here, so they agree.
 */
import { findUntoleratedTaint, nodeSelectorMatches } from '../../k8s/scheduling.ts';
import type { NodeCapacity, Scenario, Taint, WorkloadCommon } from './types.ts';

/** The node label that names a worker's pool. */
export const POOL_LABEL = 'kup.dev/pool';

/** The role label of control-plane nodes (value `""`). */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

/** The taint every control-plane node carries, as kubeadm sets it. */
export const CONTROL_PLANE_TAINT: Readonly<Taint> = Object.freeze({ key: CONTROL_PLANE_LABEL, effect: 'NoSchedule' });

/** The pool name reserved for control-plane nodes in node names and `pool/index` references. */
export const CONTROL_PLANE_POOL = 'control-plane';

/** Name of the `index`th node of a pool (`general-0`); control-plane nodes are `control-plane-<index>`. */
export function nodeName(pool: string, index: number): string {
  return `${pool}-${index}`;
}

/** One node of a scenario, before the simulator gives it a status. */
export interface ScenarioNode {
  name: string;
  role: 'control-plane' | 'worker';
  /** The pool name, or `control-plane`. */
  pool: string;
  index: number;
  kubeletVersion: string;
  machineImage: string;
  capacity: NodeCapacity;
  labels: Record<string, string>;
  taints: Taint[];
}

/** Labels every node gets. */
function standardLabels(name: string): Record<string, string> {
  return { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' };
}

/** Node label keys a pool cannot set, because every node gets them from the simulator. */
export const RESERVED_NODE_LABELS: readonly string[] = Object.freeze([
  'kubernetes.io/hostname',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  POOL_LABEL,
  CONTROL_PLANE_LABEL,
]);

/** Every node of a scenario: control-plane nodes first, then each pool's nodes in order. */
export function scenarioNodes(
  scenario: Pick<Scenario, 'kubernetesVersion' | 'controlPlane' | 'pools'>,
): ScenarioNode[] {
  const nodes: ScenarioNode[] = [];
  const cp = scenario.controlPlane;
  for (let index = 0; index < cp.nodes; index++) {
    const name = nodeName(CONTROL_PLANE_POOL, index);
    nodes.push({
      name,
      role: 'control-plane',
      pool: CONTROL_PLANE_POOL,
      index,
      kubeletVersion: scenario.kubernetesVersion,
      machineImage: cp.machineImage,
      capacity: { ...cp.capacity },
      labels: {
        ...standardLabels(name),
        [CONTROL_PLANE_LABEL]: '',
        'node.kubernetes.io/exclude-from-external-load-balancers': '',
      },
      taints: [{ ...CONTROL_PLANE_TAINT }],
    });
  }
  for (const pool of scenario.pools) {
    for (let index = 0; index < pool.nodes; index++) {
      const name = nodeName(pool.name, index);
      nodes.push({
        name,
        role: 'worker',
        pool: pool.name,
        index,
        kubeletVersion: pool.kubeletVersion,
        machineImage: pool.machineImage,
        capacity: { ...pool.capacity },
        labels: { ...pool.labels, ...standardLabels(name), [POOL_LABEL]: pool.name },
        taints: pool.taints.map((t) => ({ ...t })),
      });
    }
  }
  return nodes;
}

/**
 * Whether a workload's pods may run on a node: the nodeSelector matches its labels and every NoSchedule or NoExecute
 * taint is tolerated (PreferNoSchedule only steers). This is where a DaemonSet puts a pod.
 */
export function podFitsNode(
  workload: Pick<WorkloadCommon, 'nodeSelector' | 'tolerations'>,
  node: Pick<ScenarioNode, 'labels' | 'taints'>,
): boolean {
  return (
    nodeSelectorMatches(workload.nodeSelector, node.labels) &&
    findUntoleratedTaint(node.taints, workload.tolerations) === undefined
  );
}
