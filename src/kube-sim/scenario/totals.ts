import { podFitsNode, scenarioNodes } from './nodes.ts';
import type { Scenario, WorkloadKind } from './types.ts';

/** How big a scenario is. */
export interface ScenarioTotals {
  controlPlaneNodes: number;
  workerNodes: number;
  /** Control-plane and worker nodes. */
  nodes: number;
  /** Workload pods, DaemonSet pods included (system add-ons the simulator runs are not counted). */
  pods: number;
  podsByKind: Record<WorkloadKind, number>;
}

/**
 * Counts the nodes and workload pods of a scenario. A DaemonSet counts one pod per node its nodeSelector and
 * tolerations allow (control-plane nodes carry the control-plane taint); a Deployment or StatefulSet its replicas.
 */
export function scenarioTotals(scenario: Scenario): ScenarioTotals {
  const nodes = scenarioNodes(scenario);
  const podsByKind: Record<WorkloadKind, number> = { Deployment: 0, StatefulSet: 0, DaemonSet: 0, Pod: 0 };
  for (const w of scenario.workloads) {
    switch (w.kind) {
      case 'Deployment':
      case 'StatefulSet':
        podsByKind[w.kind] += w.replicas;
        break;
      case 'DaemonSet':
        podsByKind.DaemonSet += nodes.filter((node) => podFitsNode(w, node)).length;
        break;
      case 'Pod':
        podsByKind.Pod += 1;
        break;
    }
  }
  const workerNodes = scenario.pools.reduce((sum, pool) => sum + pool.nodes, 0);
  return {
    controlPlaneNodes: scenario.controlPlane.nodes,
    workerNodes,
    nodes: scenario.controlPlane.nodes + workerNodes,
    pods: podsByKind.Deployment + podsByKind.StatefulSet + podsByKind.DaemonSet + podsByKind.Pod,
    podsByKind,
  };
}
