/**
 * The values a scenario gets for what it leaves out. Builders copy them; they are frozen so that no scenario can
 * change another's defaults.
 */
import type { FaultSpec, NodeCapacity, ResourceRequests, SystemComponents, Timings } from './types.ts';

/** Realistic but fast: a pod starts in half a second, a node boots in two. */
export const DEFAULT_TIMINGS: Readonly<Timings> = Object.freeze({
  podStart: 500,
  podTermination: 1_000,
  nodeBoot: 2_000,
  nodeDrainPoll: 250,
  componentRestart: 1_000,
  apiUnavailable: 500,
  nodeHeartbeat: 1_000,
  nodeMonitorGrace: 4_000,
  watchHistory: 300_000,
});

/** The `zeroDelay: true` preset: everything happens at once (tests and benchmarks). */
export const ZERO_DELAY_TIMINGS: Readonly<Timings> = Object.freeze({
  podStart: 0,
  podTermination: 0,
  nodeBoot: 0,
  nodeDrainPoll: 0,
  componentRestart: 0,
  apiUnavailable: 0,
  nodeHeartbeat: 0,
  nodeMonitorGrace: 0,
  watchHistory: 0,
});

/** The Kubernetes version of the generated and demo scenarios. */
export const DEFAULT_KUBERNETES_VERSION = '1.30.4';

/** Container image of workload pods. */
export const DEFAULT_IMAGE = 'registry.k8s.io/pause:3.9';

/** Namespace of workloads and namespaced legacy objects. */
export const DEFAULT_NAMESPACE = 'default';

/** Requests of a workload's pods. */
export const DEFAULT_REQUESTS: Readonly<ResourceRequests> = Object.freeze({ cpu: '10m', memory: '32Mi' });

/** `terminationGracePeriodSeconds` of a workload's pods (the Kubernetes default). */
export const DEFAULT_TERMINATION_GRACE_SECONDS = 30;

/** Capacity of a control-plane node. */
export const DEFAULT_CONTROL_PLANE_CAPACITY: Readonly<NodeCapacity> = Object.freeze({
  cpu: '4',
  memory: '16Gi',
  pods: 110,
});

/** Capacity of a worker node. */
export const DEFAULT_POOL_CAPACITY: Readonly<NodeCapacity> = Object.freeze({ cpu: '8', memory: '32Gi', pods: 110 });

/** CoreDNS and CNI of the simulated cluster. */
export const DEFAULT_SYSTEM_COMPONENTS: Readonly<SystemComponents> = Object.freeze({
  coreDnsVersion: '1.11.3',
  cni: Object.freeze({ name: 'calico', version: 'v3.28.0' }),
});

/** The machine image of a node running `kubeletVersion`, named as Cluster API images are. */
export function defaultMachineImage(kubeletVersion: string): string {
  return `ubuntu-2204-kube-v${kubeletVersion}`;
}

/** No faults at all. */
export function noFaults(): FaultSpec {
  return {
    apiErrorRate: 0,
    apiLatencyMs: 0,
    nodesNeverReady: [],
    nodesNotReady: [],
    nodesKubeletDown: [],
    containerFaults: [],
    evictionRefused: [],
    snapshotFailure: false,
  };
}
