/**
 * The parts of Cluster API's objects (v1beta2) the provider reads and writes, and the paths they live at. Only what
 * the provider uses is typed; the objects carry more.
 */

/** Cluster API's API group and the version the provider speaks (served by Cluster API 1.11 and later). */
export const CAPI_API = '/apis/cluster.x-k8s.io/v1beta2';

/** Labels and annotations Cluster API defines. */
export const CapiLabel = {
  clusterName: 'cluster.x-k8s.io/cluster-name',
  controlPlane: 'cluster.x-k8s.io/control-plane',
  deploymentName: 'cluster.x-k8s.io/deployment-name',
  setName: 'cluster.x-k8s.io/set-name',
  /** A topology-managed MachineDeployment's name in the Cluster's topology. */
  topologyDeploymentName: 'topology.cluster.x-k8s.io/deployment-name',
} as const;

/** Annotations Cluster API reads. */
export const CapiAnnotation = {
  /** Pauses reconciliation of the object (on a Cluster: of everything of the cluster). */
  paused: 'cluster.x-k8s.io/paused',
  /** Marks a Machine its MachineSet deletes first when scaled down. */
  deleteMachine: 'cluster.x-k8s.io/delete-machine',
} as const;

/** Annotations of kup's on Cluster API objects: what a run changed, so that another kup process can finish it. */
export const KupAnnotation = {
  /** On a MachineDeployment: its original rollout strategy and replicas, and the replacements in flight (JSON). */
  rollout: 'kup.dev/capi-rollout',
  /** On a Machine kup claimed as a replacement: the Machine it replaces. */
  replaces: 'kup.dev/replaces',
  /** On a Machine kup claimed as a replacement: the idempotency key of the step that asked for it (hashed). */
  replaceKey: 'kup.dev/replace-key',
  /** On a MachineDeployment kup paused for a moment (so that kup, not a user, removes the pause). */
  pausedByKup: 'kup.dev/paused-by-kup',
} as const;

/** Object metadata. */
export interface Metadata {
  readonly name: string;
  readonly namespace?: string;
  readonly resourceVersion?: string;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A condition as Cluster API's v1beta2 objects carry them (metav1.Condition). */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
}

/** A reference to a template or an object of another API group. */
export interface ContractReference {
  readonly apiGroup?: string;
  readonly kind: string;
  readonly name: string;
}

/** `cluster.x-k8s.io/v1beta2` Cluster. */
export interface CapiCluster {
  readonly metadata: Metadata;
  readonly spec: {
    readonly paused?: boolean;
    readonly controlPlaneRef?: ContractReference;
    readonly topology?: { readonly version?: string; readonly classRef?: { readonly name: string } };
  };
  readonly status?: { readonly conditions?: readonly Condition[] };
}

/** A control plane of Cluster API's control-plane contract (KubeadmControlPlane, a cloud's managed control plane). */
export interface ContractControlPlane {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: Metadata;
  readonly spec: {
    readonly version?: string;
    readonly replicas?: number;
    /** KubeadmControlPlane's machine template (managed control planes have none). */
    readonly machineTemplate?: { readonly spec?: { readonly infrastructureRef?: ContractReference } };
  };
  readonly status?: {
    readonly version?: string;
    readonly replicas?: number;
    readonly readyReplicas?: number;
    readonly upToDateReplicas?: number;
    readonly conditions?: readonly Condition[];
  };
}

/** `cluster.x-k8s.io/v1beta2` MachineDeployment. */
export interface MachineDeployment {
  readonly metadata: Metadata;
  readonly spec: {
    readonly clusterName: string;
    readonly replicas?: number;
    readonly rollout?: { readonly strategy?: RolloutStrategy };
    readonly template: {
      readonly spec: { readonly version?: string; readonly infrastructureRef: ContractReference };
    };
  };
  readonly status?: {
    readonly replicas?: number;
    readonly readyReplicas?: number;
    readonly upToDateReplicas?: number;
    readonly availableReplicas?: number;
    readonly conditions?: readonly Condition[];
  };
}

/** A MachineDeployment's rollout strategy. */
export interface RolloutStrategy {
  readonly type?: 'RollingUpdate' | 'OnDelete';
  readonly rollingUpdate?: Readonly<Record<string, unknown>>;
}

/** `cluster.x-k8s.io/v1beta2` MachineSet. */
export interface MachineSet {
  readonly metadata: Metadata;
  readonly spec: {
    readonly replicas?: number;
    readonly template: { readonly spec: { readonly version?: string; readonly infrastructureRef: ContractReference } };
  };
}

/** `cluster.x-k8s.io/v1beta2` Machine. */
export interface Machine {
  readonly metadata: Metadata;
  readonly spec: { readonly version?: string; readonly infrastructureRef: ContractReference };
  readonly status?: {
    readonly phase?: string;
    readonly nodeRef?: { readonly name?: string };
    readonly conditions?: readonly Condition[];
  };
}

/** `cluster.x-k8s.io/v1beta2` MachineHealthCheck. */
export interface MachineHealthCheck {
  readonly metadata: Metadata;
  readonly spec: { readonly clusterName: string };
  readonly status?: {
    readonly expectedMachines?: number;
    readonly currentHealthy?: number;
    readonly conditions?: readonly Condition[];
  };
}

/** The path of a namespaced Cluster API object (`machinedeployments`, `machines`, ...), or of their collection. */
export function capiPath(namespace: string, resource: string, name?: string): string {
  return `${CAPI_API}/namespaces/${encodeURIComponent(namespace)}/${resource}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

/** The condition of `type`, if there is one. */
export function conditionOf(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Kubernetes `1.33.0` from Cluster API's `v1.33.0`. */
export function kubeVersion(capiVersion: string | undefined): string {
  return (capiVersion ?? '').replace(/^v/, '');
}

/** Cluster API's `v1.33.0` from Kubernetes `1.33.0`. */
export function capiVersion(version: string): string {
  return version.startsWith('v') ? version : `v${version}`;
}
