/**
 * Fixtures shared by the infrastructure tests: a small scenario with one of each workload kind, and a way to run every
 * controller of a cluster on a test runtime.
 */
import { startControllers } from '../controllers/start.ts';
import type { KubeObject } from '../model/wire.ts';
import { isRecord } from '../model/wire.ts';
import { DEFAULT_SYSTEM_COMPONENTS, ZERO_DELAY_TIMINGS, noFaults } from '../scenario/defaults.ts';
import type { Scenario } from '../scenario/types.ts';
import type { TestRuntime } from '../testing/runtime.ts';

/** A small scenario with one of each workload kind, a PDB, a legacy object and a NotReady node. */
export function smallScenario(): Scenario {
  const common = {
    requests: { cpu: '50m', memory: '64Mi' },
    emptyDir: false,
    nodeSelector: {},
    tolerations: [],
    terminationGracePeriodSeconds: 30,
    image: 'registry.k8s.io/pause:3.9',
  };
  return {
    name: 'unit',
    kubernetesVersion: '1.30.4',
    controlPlane: { nodes: 1, machineImage: 'ubuntu-2204-kube-v1.30.4', capacity: { cpu: '4', memory: '16Gi', pods: 110 } },
    pools: [
      {
        name: 'general',
        nodes: 3,
        kubeletVersion: '1.30.4',
        machineImage: 'ubuntu-2204-kube-v1.30.4',
        capacity: { cpu: '4', memory: '16Gi', pods: 110 },
        labels: { 'node-class': 'general' },
        taints: [],
      },
    ],
    workloads: [
      { kind: 'Deployment', name: 'web', namespace: 'shop', labels: { app: 'web' }, replicas: 3, pdb: { maxUnavailable: 1 }, ...common },
      { kind: 'StatefulSet', name: 'db', namespace: 'shop', labels: { app: 'db' }, replicas: 2, ...common, emptyDir: true },
      { kind: 'DaemonSet', name: 'agent', namespace: 'monitoring', labels: { app: 'agent' }, ...common, tolerations: [{ operator: 'Exists' }] },
      { kind: 'Pod', name: 'debug', namespace: 'default', labels: { app: 'debug' }, node: 'general-0', ...common, terminationGracePeriodSeconds: 0 },
    ],
    legacyObjects: [
      {
        apiVersion: 'policy/v1beta1',
        kind: 'PodDisruptionBudget',
        namespace: 'shop',
        name: 'legacy-web-pdb',
        spec: { minAvailable: 1, selector: { matchLabels: { app: 'web', track: 'canary' } } },
      },
    ],
    timings: { ...ZERO_DELAY_TIMINGS },
    faults: { ...noFaults(), nodesNotReady: ['general-2'] },
    systemComponents: { ...DEFAULT_SYSTEM_COMPONENTS, cni: { ...DEFAULT_SYSTEM_COMPONENTS.cni } },
  };
}

/** Starts every controller of a cluster on a test runtime; returns the stop function. */
export function startAllControllers(runtime: TestRuntime): () => void {
  const stopControllers = startControllers(runtime);
  return () => {
    stopControllers();
    runtime.stop();
  };
}

/** A condition of an object's status. */
export function condition(obj: KubeObject | undefined, type: string): Record<string, unknown> | undefined {
  const conditions = obj?.status?.['conditions'];
  if (!Array.isArray(conditions)) return undefined;
  return (conditions as unknown[]).find((c): c is Record<string, unknown> => isRecord(c) && c['type'] === type);
}

/** Whether a pod is Running and Ready. */
export function runningAndReady(pod: KubeObject): boolean {
  return pod.status?.['phase'] === 'Running' && condition(pod, 'Ready')?.['status'] === 'True';
}
