/**
 * The simulated cluster a scenario describes, fully defaulted: every field a simulator needs is present, so code that
 * reads a `Scenario` never applies defaults of its own. `parse.ts` turns YAML into one, `generate.ts` builds large ones,
 * and `SCHEMA.md` documents the YAML form key by key.
 */

/** What a node offers the scheduler: Kubernetes quantities (`"4"`, `"16Gi"`) and a pod count. */
export interface NodeCapacity {
  /** CPU in cores (`"4"`, `"0.5"`) or millicores (`"500m"`). */
  cpu: string;
  /** Memory with a binary or decimal suffix (`"16Gi"`, `"512Mi"`, `"64G"`). */
  memory: string;
  /** Maximum pods the kubelet admits (the kubelet's `maxPods`). */
  pods: number;
}

/** A taint effect, as in `spec.taints[].effect`. */
export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

/** A node taint, as in `spec.taints[]`. */
export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
}

/** A toleration, as in a pod's `spec.tolerations[]`. `key` is absent only with `operator: Exists` (tolerate all). */
export interface Toleration {
  key?: string;
  operator: 'Equal' | 'Exists';
  value?: string;
  /** Absent: tolerates every effect. */
  effect?: TaintEffect;
  /** Only with `effect: NoExecute`: how long the pod stays bound after the taint appears. */
  tolerationSeconds?: number;
}

/** The control-plane nodes. They run kube-apiserver, etcd, the controller manager and the scheduler. */
export interface ControlPlaneSpec {
  /** How many control-plane nodes (3 for an HA control plane). */
  nodes: number;
  machineImage: string;
  capacity: NodeCapacity;
}

/** A pool of identical worker nodes (a node group / machine deployment). */
export interface PoolSpec {
  /** DNS-1123 label; nodes are named `<pool>-<index>`. */
  name: string;
  /** Worker nodes in the pool; 0 is allowed (a pool scaled to zero). */
  nodes: number;
  /** Kubelet version of the pool's nodes, `x.y.z`; defaults to the control-plane version. */
  kubeletVersion: string;
  machineImage: string;
  capacity: NodeCapacity;
  /** Extra node labels, added to the standard ones (`kubernetes.io/hostname`, `kup.dev/pool`, ...). */
  labels: Record<string, string>;
  taints: Taint[];
}

/** Container resource requests (one container per simulated pod). */
export interface ResourceRequests {
  cpu: string;
  memory: string;
}

/** A PodDisruptionBudget count: a whole number of pods or a percentage such as `"50%"`. */
export type IntOrPercent = number | `${number}%`;

/** `spec.unhealthyPodEvictionPolicy` of a policy/v1 PodDisruptionBudget. */
export type UnhealthyPodEvictionPolicy = 'IfHealthyBudget' | 'AlwaysAllow';

/**
 * The PodDisruptionBudget a workload gets, named after the workload and selecting its pods: exactly one of
 * `minAvailable` or `maxUnavailable`. `unhealthyPodEvictionPolicy` stays absent when the scenario does not set it,
 * so the PDB object looks like what a user applied (the API server then behaves as `IfHealthyBudget`).
 */
export type PdbSpec =
  | { minAvailable: IntOrPercent; maxUnavailable?: never; unhealthyPodEvictionPolicy?: UnhealthyPodEvictionPolicy }
  | { maxUnavailable: IntOrPercent; minAvailable?: never; unhealthyPodEvictionPolicy?: UnhealthyPodEvictionPolicy };

/** Fields every workload kind has. */
export interface WorkloadCommon {
  /** DNS-1123 label, unique within the namespace across all kinds. */
  name: string;
  namespace: string;
  /** Pod template labels, which are also the workload's selector and its PDB's selector; always include `app: <name>`. */
  labels: Record<string, string>;
  requests: ResourceRequests;
  /** Pods mount an emptyDir volume (kubectl drain refuses them without `--delete-emptydir-data`). */
  emptyDir: boolean;
  /** A PodDisruptionBudget for the workload's pods; absent means none. */
  pdb?: PdbSpec;
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  terminationGracePeriodSeconds: number;
  image: string;
}

/** A Deployment (apps/v1). */
export interface DeploymentWorkload extends WorkloadCommon {
  kind: 'Deployment';
  replicas: number;
}

/** A StatefulSet (apps/v1); its pods are named `<name>-0` .. `<name>-<replicas-1>`. */
export interface StatefulSetWorkload extends WorkloadCommon {
  kind: 'StatefulSet';
  replicas: number;
}

/** A DaemonSet (apps/v1): one pod on every node its nodeSelector and tolerations allow. */
export interface DaemonSetWorkload extends WorkloadCommon {
  kind: 'DaemonSet';
}

/** A bare pod with no controller: nothing recreates it once it is evicted (kubectl drain needs `--force`). */
export interface PodWorkload extends WorkloadCommon {
  kind: 'Pod';
  /** The node the pod is bound to (`spec.nodeName`); absent means the scheduler places it. */
  node?: string;
}

/** A workload of the scenario, discriminated on `kind`. */
export type WorkloadSpec = DeploymentWorkload | StatefulSetWorkload | DaemonSetWorkload | PodWorkload;

/** The kinds a scenario workload can have. */
export type WorkloadKind = WorkloadSpec['kind'];

/**
 * An object last applied at an API version that a later Kubernetes release removes (see `LEGACY_APIS`). The simulator
 * stores it at the current version and keeps the old one as evidence (the `last-applied-configuration` annotation),
 * as a real cluster does, so prechecks can find it.
 */
export interface LegacyObjectSpec {
  /** `group/version`, e.g. `policy/v1beta1`. */
  apiVersion: string;
  kind: string;
  /** Present for namespaced kinds only. */
  namespace?: string;
  name: string;
  /** The object's `spec`, as written. */
  spec?: Record<string, unknown>;
  /** Other top-level fields for kinds without a spec (`rules` of a ClusterRole, `webhooks`, `provisioner`, ...). */
  fields?: Record<string, unknown>;
}

/** Durations of simulated work, in milliseconds. */
export interface Timings {
  /** From a pod bound to a Ready node to the pod Running and Ready. */
  podStart: number;
  /** Upper bound on how long a terminating pod takes: min(grace period, this). */
  podTermination: number;
  /** From a node created (or rebooted) to the node Ready. */
  nodeBoot: number;
  /** How often a simulated drain or wait rechecks the pods of a node. */
  nodeDrainPoll: number;
  /** How long a control-plane component (controller manager, scheduler, kubelet) takes to restart. */
  componentRestart: number;
  /** How long the API server is unreachable while a control-plane node restarts kube-apiserver. */
  apiUnavailable: number;
  /** Interval between node heartbeats (Lease renewals). */
  nodeHeartbeat: number;
  /** Silence after which the node lifecycle controller marks a node NotReady (Unknown). */
  nodeMonitorGrace: number;
  /**
   * How long watch history is kept: every `watchHistory` the store is compacted to the revision of the compaction
   * before, as the API server compacts etcd (every 5 minutes), so a watch or list from an older resourceVersion gets
   * 410 Expired; 0 compacts only by size.
   */
  watchHistory: number;
}

/** A workload named by namespace and name. */
export interface WorkloadRef {
  namespace: string;
  name: string;
}

/**
 * How a faulty container fails: `image-pull` (its image cannot be pulled: ErrImagePull, then ImagePullBackOff),
 * `crash-loop` (it exits with an error after it starts: CrashLoopBackOff with restarts, or Failed under
 * restartPolicy Never) or `not-ready` (it runs but its readiness never passes).
 */
export type ContainerFailure = 'image-pull' | 'crash-loop' | 'not-ready';

/** A rule that makes the containers whose image matches fail, as a registry or a broken build would. */
export interface ContainerFaultRule {
  /**
   * Glob over the image, as written in the pod (`nginx:1.27-broken`) or as containerd names it
   * (`docker.io/library/nginx:1.27-broken`): `*` matches any run of characters (`*:broken`, `registry.example/*`).
   */
  image: string;
  failure: ContainerFailure;
  /**
   * Only on nodes whose kubelet runs this version or a later one (`1.31` or `1.31.2`): a failure an upgrade brings
   * (an image or runtime that breaks with the new kubelet). Absent: on every node.
   */
  minKubeletVersion?: string;
  /** `crash-loop`: the exit code. @default 1 */
  exitCode?: number;
  /** `crash-loop`: how long the container runs before it exits, ms. @default 1000 */
  exitAfterMs?: number;
}

/** Faults the simulator injects. The defaults inject none. */
export interface FaultSpec {
  /** Fraction of API requests answered with a 500 or 503 (0..1). */
  apiErrorRate: number;
  /** Added latency for every API request. */
  apiLatencyMs: number;
  /** Close every open watch this often; absent means watches are only closed by their timeout. */
  dropWatchesEveryMs?: number;
  /**
   * Machines that never become Ready: node names (`pool/index` references are resolved to names; a name past the
   * pool's size means a machine created later, such as a surge replacement) and `pool/*` for every machine of a pool.
   * Existing nodes listed here stay Ready until they are upgraded or rebooted.
   */
  nodesNeverReady: string[];
  /**
   * Node names (resolved from `pool/index`) that are NotReady from the start: their kubelet runs and reports
   * Ready=False (KubeletNotReady: the container runtime's network is not ready).
   */
  nodesNotReady: string[];
  /**
   * Node names (resolved from `pool/index`) whose kubelet is down from the start: it posts nothing, so the node turns
   * Unknown (NodeStatusUnknown) after `nodeMonitorGrace`, is tainted unreachable, and its pods are evicted when their
   * tolerations run out.
   */
  nodesKubeletDown: string[];
  /** Containers that fail, by image. */
  containerFaults: ContainerFaultRule[];
  /** Workloads whose pods refuse eviction (as a validating webhook would). */
  evictionRefused: WorkloadRef[];
  /** Snapshots of etcd fail. */
  snapshotFailure: boolean;
}

/** Versions of the system add-ons the simulated cluster runs. */
export interface SystemComponents {
  /** CoreDNS version, `x.y.z`. */
  coreDnsVersion: string;
  cni: { name: string; version: string };
}

/** A simulated cluster, fully defaulted. */
export interface Scenario {
  /** DNS-1123 label naming the scenario (and the cluster). */
  name: string;
  /** Control-plane version, `x.y.z` without a leading `v`. */
  kubernetesVersion: string;
  controlPlane: ControlPlaneSpec;
  pools: PoolSpec[];
  workloads: WorkloadSpec[];
  legacyObjects: LegacyObjectSpec[];
  timings: Timings;
  faults: FaultSpec;
  systemComponents: SystemComponents;
}
