/**
 * One read of a cluster, reduced to what the rules need. Records are compact on purpose: a 50,000-pod cluster is
 * held as small records (shared label, selector and toleration objects), never as the full API objects.
 *
 * @module
 */
import type { ContainerFailure } from './container-failures.ts';
import type { NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration } from '../k8s/scheduling.ts';

/** Labels (or a node selector), shared between records that have the same ones. */
export type Labels = Readonly<Record<string, string>>;

/** A controller owner reference, reduced. */
export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
}

/** A label selector (`matchLabels` + `matchExpressions`). */
export interface LabelSelector {
  readonly matchLabels?: Labels;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}

/** A node taint and a pod toleration: Kubernetes' own shapes (src/k8s), which the records keep as read. */
export type { Taint, Toleration };

/** Node-affinity requirements and terms: Kubernetes' own shapes too. */
export type { NodeSelectorRequirement, NodeSelectorTerm };

/** Where a pod may be scheduled: shared between pods of the same template. */
export interface SchedulingConstraints {
  readonly nodeSelector?: Labels;
  readonly tolerations?: readonly Toleration[];
  /** Required node affinity: any term matches (each term's requirements all hold). */
  readonly nodeAffinity?: readonly NodeSelectorTerm[];
}

/** CPU (millicores), memory (bytes) and pod slots. */
export interface Resources {
  readonly cpuMilli: number;
  readonly memoryBytes: number;
}

/** A node. */
export interface NodeRecord {
  readonly name: string;
  readonly labels: Labels;
  /** The worker pool (from well-known pool labels), or `control-plane`. */
  readonly pool: string;
  readonly role: 'control-plane' | 'worker';
  readonly unschedulable: boolean;
  /** The Ready condition's status; `Unknown` when the node has none. */
  readonly ready: 'True' | 'False' | 'Unknown';
  readonly readyReason?: string;
  /** When the Ready condition last changed (ms since the epoch). */
  readonly readySince?: number;
  /** Conditions that are True and should not be: MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable. */
  readonly pressure: readonly string[];
  readonly taints: readonly Taint[];
  readonly kubeletVersion: string;
  readonly kubeProxyVersion?: string;
  /** `status.nodeInfo.containerRuntimeVersion`, e.g. `containerd://1.7.22`. */
  readonly containerRuntimeVersion?: string;
  /** `status.nodeInfo.kernelVersion` (`uname -r`). */
  readonly kernelVersion?: string;
  /** `status.nodeInfo.osImage` (the machine image, or /etc/os-release's PRETTY_NAME). */
  readonly osImage?: string;
  readonly allocatable: Resources & { readonly pods: number };
}

/** A pod. */
export interface PodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly node?: string;
  /** Pending, Running, Succeeded, Failed or Unknown. */
  readonly phase: string;
  readonly ready: boolean;
  /** `metadata.deletionTimestamp` (ms since the epoch) when the pod is terminating. */
  readonly deletingAt?: number;
  readonly createdAt?: number;
  /** The controller owner reference. */
  readonly owner?: OwnerRef;
  readonly labels: Labels;
  /** Effective requests: max(sum of containers, largest init container) plus overhead. */
  readonly requests: Resources;
  readonly emptyDir: boolean;
  /** A static pod's API copy (`kubernetes.io/config.mirror`). */
  readonly mirror: boolean;
  readonly scheduling?: SchedulingConstraints;
  /** Claims the pod mounts. */
  readonly pvcs?: readonly string[];
  /** Container images; kept for kube-system pods only (control-plane versions). */
  readonly images?: readonly string[];
  /** Why a container is waiting (`CrashLoopBackOff`, `ImagePullBackOff`), if one is. */
  readonly waitingReason?: string;
  /** Containers that keep failing (crash loops, image pulls), if any. */
  readonly failures?: readonly ContainerFailure[];
  /** The PodScheduled condition's message when the pod is unschedulable. */
  readonly unschedulableMessage?: string;
}

/** A workload controller (Deployment, StatefulSet, DaemonSet, ReplicaSet). */
export interface WorkloadRecord {
  readonly kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet';
  readonly namespace: string;
  readonly name: string;
  /** spec.replicas (absent for DaemonSets). */
  readonly replicas?: number;
  readonly readyReplicas?: number;
  readonly owner?: OwnerRef;
  readonly selector?: LabelSelector;
  readonly templateLabels: Labels;
  /** Container images of the pod template (not kept for ReplicaSets). */
  readonly images: readonly string[];
}

/** An int or a percentage (`"50%"`). */
export type IntOrPercent = number | string;

/** A PodDisruptionBudget. */
export interface PdbRecord {
  readonly namespace: string;
  readonly name: string;
  /** Absent: selects no pod (policy/v1); an empty selector selects every pod of the namespace. */
  readonly selector?: LabelSelector;
  readonly minAvailable?: IntOrPercent;
  readonly maxUnavailable?: IntOrPercent;
  readonly unhealthyPodEvictionPolicy?: string;
  readonly generation?: number;
  readonly status: {
    readonly currentHealthy: number;
    readonly desiredHealthy: number;
    readonly expectedPods: number;
    readonly disruptionsAllowed: number;
    readonly observedGeneration?: number;
  };
}

/** A PersistentVolumeClaim. */
export interface PvcRecord {
  readonly namespace: string;
  readonly name: string;
  /** Pending, Bound or Lost. */
  readonly phase: string;
  readonly storageClass?: string;
  readonly createdAt?: number;
}

/** A namespace that is being deleted. */
export interface TerminatingNamespace {
  readonly name: string;
  readonly deletingAt?: number;
}

/** An object whose last-applied configuration names an apiVersion. */
export interface LastAppliedRecord {
  /** Kind as stored (the annotation's kind). */
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** The `apiVersion` that `kubectl apply` sent, e.g. `policy/v1beta1`. */
  readonly apiVersion: string;
}

/** One series of `apiserver_requested_deprecated_apis`. */
export interface DeprecatedApiRequest {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource: string;
  /** `1.25`, or empty when the API is deprecated without a planned removal. */
  readonly removedRelease: string;
}

/** A GET of a health endpoint. */
export type EndpointResult =
  | { readonly ok: true; readonly status: number; readonly body: string }
  | { readonly ok: false; readonly error: string };

/** A part of the snapshot that could not be read. */
export interface SnapshotProblem {
  /** What was being read (`pods`, `/metrics`, `flowschemas.flowcontrol.apiserver.k8s.io`). */
  readonly part: string;
  readonly message: string;
  /** The HTTP status the API server answered, when it answered. */
  readonly status?: number;
}

/** Everything the rules read. */
export interface ClusterSnapshot {
  /** Cluster name from the kubeconfig. */
  readonly cluster: string;
  readonly server: string;
  /** When the read started (ms since the epoch). */
  readonly takenAt: number;
  /** `/version`'s gitVersion, when it answered. */
  readonly gitVersion?: string;
  readonly readyz: EndpointResult;
  /**
   * Set when the API server serves no `/readyz` (404, as a partial API server answers): `readyz` is then the answer of
   * the endpoint named here (`/healthz`, else the `/api` discovery document), and `api-health` warns.
   */
  readonly readyzFallback?: { readonly endpoint: string };
  /**
   * Set when the API server serves no `/version` (404) and the provider reported the control-plane version:
   * `gitVersion` is then the provider's, `source` says whose (for `api-health`'s warning).
   */
  readonly versionFrom?: { readonly source: string };
  /** Nodes that report no kubelet version, whose version (in `nodes`) is the provider's word, and whose word it is. */
  readonly kubeletsFrom?: { readonly source: string; readonly nodes: readonly string[] };
  /** False when /metrics could not be read (then `deprecatedApiRequests` is empty for want of data). */
  readonly metricsRead: boolean;
  readonly deprecatedApiRequests: readonly DeprecatedApiRequest[];
  readonly nodes: readonly NodeRecord[];
  readonly pods: readonly PodRecord[];
  readonly workloads: readonly WorkloadRecord[];
  readonly pdbs: readonly PdbRecord[];
  readonly pvcs: readonly PvcRecord[];
  readonly terminatingNamespaces: readonly TerminatingNamespace[];
  /** Objects whose last-applied configuration names an API version the catalog lists as removed. */
  readonly lastApplied: readonly LastAppliedRecord[];
  readonly problems: readonly SnapshotProblem[];
}
