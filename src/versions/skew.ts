/**
 * The Kubernetes version skew policy as functions. Skew is counted in minors; patch levels never matter.
 *
 * - kube-apiserver: HA instances within 1 minor of each other.
 * - kubelet and kube-proxy: never newer than kube-apiserver; at most 3 minors older when kube-apiserver is 1.28 or
 *   newer, 2 before that (the policy widened in 1.28). kube-proxy also stays within 3 minors of its node's kubelet.
 * - kube-controller-manager, kube-scheduler, cloud-controller-manager: never newer than kube-apiserver, at most
 *   1 minor older.
 * - kubectl: within 1 minor of kube-apiserver, either way.
 *
 * Versions may carry vendor suffixes (`v1.30.4-eks-abc`): they are read with {@link parseKubeletVersion}.
 *
 * @module
 */
import type { KubeVersion } from './semver.ts';
import { formatMinor, minorDistance, minorOf, parseKubeletVersion } from './semver.ts';

/** A version as reported by a component, or already parsed. */
export type VersionInput = string | KubeVersion;

function read(version: VersionInput): KubeVersion {
  return typeof version === 'string' ? parseKubeletVersion(version).version : version;
}

/** Minors `older` lags behind `newer` (negative when it is ahead). */
function behind(newer: VersionInput, older: VersionInput): number {
  return minorDistance(minorOf(read(older)), minorOf(read(newer)));
}

/**
 * How many minors a kubelet (or kube-proxy) may lag behind this kube-apiserver: 3 from 1.28 on, 2 before.
 */
export function maxKubeletSkew(apiserver: VersionInput): number {
  const v = read(apiserver);
  return v.major > 1 || v.minor >= 28 ? 3 : 2;
}

/** True when a kubelet of this version may talk to this kube-apiserver. */
export function kubeletSkewOk(apiserver: VersionInput, kubelet: VersionInput): boolean {
  const lag = behind(apiserver, kubelet);
  return lag >= 0 && lag <= maxKubeletSkew(apiserver);
}

/** True when a kube-proxy of this version may run against this kube-apiserver (and beside this kubelet, if given). */
export function kubeProxySkewOk(apiserver: VersionInput, kubeProxy: VersionInput, kubelet?: VersionInput): boolean {
  if (!kubeletSkewOk(apiserver, kubeProxy)) return false;
  return kubelet === undefined || Math.abs(behind(kubelet, kubeProxy)) <= 3;
}

/** True when kube-controller-manager, kube-scheduler or cloud-controller-manager may run against this kube-apiserver. */
export function controlPlaneComponentSkewOk(apiserver: VersionInput, component: VersionInput): boolean {
  const lag = behind(apiserver, component);
  return lag >= 0 && lag <= 1;
}

/** True when these kube-apiserver instances may serve one cluster together (all within 1 minor). */
export function apiserversSkewOk(apiservers: readonly VersionInput[]): boolean {
  const minors = apiservers.map((v) => minorOf(read(v)));
  return minors.every((a) => minors.every((b) => Math.abs(minorDistance(a, b)) <= 1));
}

/** True when this kubectl is supported against this kube-apiserver (within 1 minor, either way). */
export function kubectlSkewOk(apiserver: VersionInput, kubectl: VersionInput): boolean {
  return Math.abs(behind(apiserver, kubectl)) <= 1;
}

/** The node-side versions of one worker pool. */
export interface PoolVersions {
  readonly name: string;
  readonly kubelet: string;
  /** kube-proxy version when it is known separately from the kubelet. */
  readonly kubeProxy?: string;
}

/** Versions of the control-plane components, when they are known separately. */
export interface ControlPlaneVersions {
  /** One entry per kube-apiserver instance; the oldest one is the reference for node skew. */
  readonly apiservers: readonly string[];
  readonly controllerManagers?: readonly string[];
  readonly schedulers?: readonly string[];
  readonly cloudControllerManagers?: readonly string[];
}

/** Components whose skew is checked. */
export type SkewComponent =
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'cloud-controller-manager'
  | 'kubelet'
  | 'kube-proxy';

/** What is wrong. */
export type SkewProblem =
  /** Newer minor than kube-apiserver. */
  | 'newer-than-apiserver'
  /** More minors behind kube-apiserver than the policy allows. */
  | 'too-old'
  /** kube-proxy more than 3 minors away from its kubelet. */
  | 'too-far-from-kubelet'
  /** kube-apiserver instances more than 1 minor apart. */
  | 'apiserver-spread';

/** One breach of the skew policy, as data a precheck can report. */
export interface SkewViolation {
  readonly component: SkewComponent;
  readonly problem: SkewProblem;
  /** The offending component's version. */
  readonly version: string;
  /** The kube-apiserver version it was measured against. */
  readonly apiserver: string;
  /** Worker pool, for kubelet and kube-proxy violations. */
  readonly pool?: string;
  /** Minors behind kube-apiserver (negative when ahead). */
  readonly minorsBehind: number;
  /** Largest lag the policy allows here. */
  readonly allowed: number;
  /** One sentence for people. */
  readonly message: string;
}

function nodeViolation(
  component: 'kubelet' | 'kube-proxy',
  pool: string,
  version: string,
  apiserver: string,
): SkewViolation | undefined {
  const lag = behind(apiserver, version);
  const allowed = maxKubeletSkew(apiserver);
  const api = formatMinor(minorOf(read(apiserver)));
  if (lag < 0) {
    return {
      component,
      problem: 'newer-than-apiserver',
      version,
      apiserver,
      pool,
      minorsBehind: lag,
      allowed,
      message: `pool "${pool}": ${component} ${version} is newer than kube-apiserver ${apiserver}; it must never be newer`,
    };
  }
  if (lag > allowed) {
    return {
      component,
      problem: 'too-old',
      version,
      apiserver,
      pool,
      minorsBehind: lag,
      allowed,
      message: `pool "${pool}": ${component} ${version} is ${lag} minors behind kube-apiserver ${apiserver}; ${api} allows ${allowed}`,
    };
  }
  return undefined;
}

function componentViolations(
  component: 'kube-controller-manager' | 'kube-scheduler' | 'cloud-controller-manager',
  versions: readonly string[] | undefined,
  apiserver: string,
): SkewViolation[] {
  return (versions ?? []).flatMap((version): SkewViolation[] => {
    if (controlPlaneComponentSkewOk(apiserver, version)) return [];
    const lag = behind(apiserver, version);
    const problem: SkewProblem = lag < 0 ? 'newer-than-apiserver' : 'too-old';
    const wrong = lag < 0 ? 'is newer than' : `is ${lag} minors behind`;
    return [
      {
        component,
        problem,
        version,
        apiserver,
        minorsBehind: lag,
        allowed: 1,
        message: `${component} ${version} ${wrong} kube-apiserver ${apiserver}; it may be at most 1 minor older and never newer`,
      },
    ];
  });
}

function oldest(versions: readonly string[]): string {
  return versions.reduce((a, b) => (behind(a, b) > 0 ? b : a));
}

/**
 * Every breach of the skew policy in a cluster: control-plane components against kube-apiserver, kubelets and
 * kube-proxies of each pool against the oldest kube-apiserver. An empty list means the cluster is within policy.
 *
 * @param controlPlane - The kube-apiserver version, or the versions of each control-plane component.
 * @param pools - The node-side versions of each worker pool.
 * @throws {VersionParseError} when a version cannot be read.
 */
export function skewViolations(
  controlPlane: string | ControlPlaneVersions,
  pools: readonly PoolVersions[],
): readonly SkewViolation[] {
  const cp: ControlPlaneVersions = typeof controlPlane === 'string' ? { apiservers: [controlPlane] } : controlPlane;
  if (cp.apiservers.length === 0) return [];
  const apiserver = oldest(cp.apiservers);
  const found: SkewViolation[] = [];
  if (!apiserversSkewOk(cp.apiservers)) {
    const newest = cp.apiservers.reduce((a, b) => (behind(a, b) < 0 ? b : a));
    found.push({
      component: 'kube-apiserver',
      problem: 'apiserver-spread',
      version: newest,
      apiserver,
      minorsBehind: -behind(newest, apiserver),
      allowed: 1,
      message: `kube-apiserver instances ${apiserver} and ${newest} are more than 1 minor apart`,
    });
  }
  found.push(
    ...componentViolations('kube-controller-manager', cp.controllerManagers, apiserver),
    ...componentViolations('kube-scheduler', cp.schedulers, apiserver),
    ...componentViolations('cloud-controller-manager', cp.cloudControllerManagers, apiserver),
  );
  for (const pool of pools) {
    const kubelet = nodeViolation('kubelet', pool.name, pool.kubelet, apiserver);
    if (kubelet) found.push(kubelet);
    if (pool.kubeProxy === undefined) continue;
    const proxy = nodeViolation('kube-proxy', pool.name, pool.kubeProxy, apiserver);
    if (proxy) found.push(proxy);
    const apart = behind(pool.kubelet, pool.kubeProxy);
    if (Math.abs(apart) > 3) {
      found.push({
        component: 'kube-proxy',
        problem: 'too-far-from-kubelet',
        version: pool.kubeProxy,
        apiserver,
        pool: pool.name,
        minorsBehind: behind(apiserver, pool.kubeProxy),
        allowed: 3,
        message: `pool "${pool.name}": kube-proxy ${pool.kubeProxy} is ${Math.abs(apart)} minors from kubelet ${pool.kubelet}; at most 3 allowed`,
      });
    }
  }
  return found;
}
