/**
 * Shapes of the version catalog: the data kup ships (`catalog-data.json`) and reloads at run time
 * (`kup catalog update --from FILE|URL`). A {@link Catalog} is plain JSON data: it survives
 * `JSON.stringify` / `JSON.parse` and {@link loadCatalog} unchanged.
 *
 * Dates are calendar days in UTC, written `YYYY-MM-DD`. Versions are written without the `v` prefix.
 *
 * @module
 */

/** Support stage of a release or machine image version. */
export const CLASSIFICATIONS = ['preview', 'supported', 'deprecated', 'expired'] as const;

/**
 * Support stage of a release or machine image version:
 * - `preview`: a pre-release, or not yet released on the day asked about; refused as a target unless allowed.
 * - `supported`: usable as a target.
 * - `deprecated`: still usable, but its end of support is near (Kubernetes: maintenance mode, the last ~2 months).
 * - `expired`: past its end of support; refused as a target unless allowed.
 */
export type Classification = (typeof CLASSIFICATIONS)[number];

/** How sure the shipped data is: copied from a vendor's own table, or the catalog authors' best estimate. */
export const CONFIDENCES = ['documented', 'estimated'] as const;

/** How sure the shipped data is. */
export type Confidence = (typeof CONFIDENCES)[number];

/**
 * Where a release's (or a minor's) dates come from:
 * - `release-data`: upstream's own release data (kubernetes/website `data/releases`, endoflife.date); the default.
 * - `go-module-proxy`: the tag's time as the Go module proxy serves it (`go list -m -json k8s.io/kubernetes@vX.Y.Z`).
 * - `estimated`: the catalog authors' estimate from the release cadence; check upstream before relying on the day.
 */
export const RELEASE_SOURCES = ['release-data', 'go-module-proxy', 'estimated'] as const;

/** Where a release's dates come from. */
export type ReleaseSource = (typeof RELEASE_SOURCES)[number];

/** One Kubernetes minor release line and the facts shared by its patches. */
export interface KubernetesMinor {
  /** `MAJOR.MINOR`, e.g. `1.30`. */
  readonly minor: string;
  /** Day the `.0` release came out. */
  readonly releaseDate: string;
  /** Day the line enters maintenance mode; defaults to two months before {@link endOfLife}. */
  readonly maintenanceStart?: string;
  /** Last day of upstream support. */
  readonly endOfLife: string;
  /** Link to the upstream changelog of this minor. */
  readonly releaseNotes: string;
  /** What an operator must know before moving a cluster into this minor (removals, behaviour changes). */
  readonly upgradeNotes: readonly string[];
  /** Where its dates come from. @default 'release-data' */
  readonly source?: ReleaseSource;
  /** What every node must have from this minor on (the later minors inherit it unless they raise it). */
  readonly nodeRequirements?: NodeRequirements;
}

/**
 * What a node must bring to run a minor's kubelet: read against each node's `status.nodeInfo`
 * (`containerRuntimeVersion`, `kernelVersion`, `osImage`) by the `node-runtime` check.
 */
export interface NodeRequirements {
  /**
   * Lowest version per container runtime, by the name in `containerRuntimeVersion` (`containerd://2.0.0` is
   * `containerd` 2.0.0). Runtimes not named are not checked.
   */
  readonly containerRuntimes?: Readonly<Record<string, string>>;
  /** Lowest Linux kernel, the leading numbers of `uname -r` (`5.15.0-1068-aws` is 5.15.0). */
  readonly minKernel?: string;
  /** The kubelet refuses to start on a cgroup v1 host (not visible in the API: a kernel too old for v2 is). */
  readonly cgroupV2?: boolean;
  /** Where the requirement is stated (release notes, the runtime's or kubeadm's documentation). */
  readonly source: string;
}

/** One published Kubernetes version. */
export interface KubernetesRelease {
  /** `MAJOR.MINOR.PATCH[-alpha.N|-beta.N|-rc.N]`, e.g. `1.30.4`. */
  readonly version: string;
  /** Day it was published. */
  readonly releaseDate: string;
  /** Pins the classification, overriding the one computed from dates. */
  readonly classification?: Classification;
  /** Where its date comes from. @default 'release-data' */
  readonly source?: ReleaseSource;
}

/** An API version Kubernetes stopped serving. */
export interface RemovedApi {
  /** API group; empty string for the core group. */
  readonly group: string;
  /** API version within the group, e.g. `v1beta1`. */
  readonly version: string;
  readonly kind: string;
  /** First minor that no longer serves it, e.g. `1.25`. */
  readonly removedIn: string;
  /** `group/version` to migrate to, or `null` when there is no replacement API. */
  readonly replacement: string | null;
  /** Migration detail worth knowing (renamed fields, changed defaults). */
  readonly note?: string;
}

/** Which versions of a cluster component work with which Kubernetes minors. */
export interface ComponentCompatibility {
  /** Component name, e.g. `coredns`, `kube-proxy`, `calico`, `cilium`, `flannel`, `ingress-nginx`. */
  readonly component: string;
  /** Component versions this entry covers: `from` inclusive, `below` exclusive (open-ended when absent). */
  readonly versions: { readonly from: string; readonly below?: string };
  /** Kubernetes minors these versions support, inclusive; no `to` means no known upper bound. */
  readonly kubernetes: { readonly from: string; readonly to?: string };
  readonly confidence: Confidence;
  readonly note?: string;
}

/** One version of a machine image. */
export interface MachineImageVersion {
  /** The image's own version string, e.g. `22.04.5`, `4081.2.1`, `1592.6`. */
  readonly version: string;
  /** Day it was published, when known. */
  readonly releaseDate?: string;
  /** Last day it may be used for new or replaced nodes. */
  readonly expiresAt?: string;
  /** Pins the classification, overriding the one computed from dates. */
  readonly classification?: Classification;
}

/** A machine image (operating system) worker nodes can run. */
export interface MachineImage {
  /** Image name, e.g. `ubuntu-22.04`, `flatcar`, `gardenlinux`. */
  readonly name: string;
  readonly versions: readonly MachineImageVersion[];
  readonly confidence: Confidence;
}

/** The whole catalog. */
export interface Catalog {
  /** Format version of the catalog document. */
  readonly schemaVersion: 1;
  /**
   * The day the data was last brought up to date (`kup versions` tells its age from it). When absent, the newest
   * release date in the catalog stands in for it.
   */
  readonly published?: string;
  /** Where the data comes from and what was estimated. */
  readonly about: readonly string[];
  readonly minors: readonly KubernetesMinor[];
  readonly releases: readonly KubernetesRelease[];
  readonly removedApis: readonly RemovedApi[];
  readonly components: readonly ComponentCompatibility[];
  readonly machineImages: readonly MachineImage[];
}
