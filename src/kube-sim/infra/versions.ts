/**
 * Version facts the simulated infrastructure enforces: the etcd kubeadm pins per Kubernetes minor, and the skew rules
 * a real control plane (kubeadm, managed services) refuses to break. Kept local to kube-sim: the simulator is a
 * separate server and must not depend on kup's own version domain.
 */

/** A parsed `major.minor.patch`. */
export interface Version {
  major: number;
  minor: number;
  patch: number;
}

/** Parses `1.30.4` or `v1.30.4`; undefined when it is not a plain release version. */
export function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** `1.30.4` (no leading `v`), as kube-sim's machines hold versions. */
export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`. */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/**
 * The etcd kubeadm installs per Kubernetes minor (`SupportedEtcdVersion` in kubeadm's constants.go, as of the latest
 * patch releases of each branch: kubeadm backports etcd bumps, which is why 1.28-1.31 all pin 3.5.15).
 */
const ETCD_BY_MINOR: ReadonlyMap<number, string> = new Map([
  [24, '3.5.6'],
  [25, '3.5.9'],
  [26, '3.5.12'],
  [27, '3.5.12'],
  [28, '3.5.15'],
  [29, '3.5.15'],
  [30, '3.5.15'],
  [31, '3.5.15'],
  [32, '3.5.16'],
  [33, '3.5.21'],
  [34, '3.6.4'],
]);

/** The etcd version (`3.5.15`) kubeadm runs with a Kubernetes version; the nearest minor's when outside the table. */
export function etcdVersionFor(kubernetesVersion: string): string {
  const v = parseVersion(kubernetesVersion);
  const minors = [...ETCD_BY_MINOR.keys()];
  const lowest = Math.min(...minors);
  const highest = Math.max(...minors);
  // kubeadm, too, falls back to the nearest known minor (with a warning) rather than failing.
  const minor = Math.min(highest, Math.max(lowest, v?.minor ?? highest));
  return ETCD_BY_MINOR.get(minor) ?? '3.5.15';
}

/** The image tag of etcd: kubeadm's images carry a `-0` build suffix. */
export function etcdImageTag(etcdVersion: string): string {
  return /-\d+$/.test(etcdVersion) ? etcdVersion : `${etcdVersion}-0`;
}

/** What the control plane looks like to the skew check. */
export interface SkewContext {
  /** The kube-apiserver version of the node being upgraded. */
  current: Version;
  /** Every control-plane node's kube-apiserver version, this node included. */
  apiservers: readonly Version[];
  /** Every node's kubelet version. */
  kubelets: readonly { node: string; version: Version }[];
}

/**
 * Why a control-plane node may not move to `target`, or undefined when it may. The rules of the version skew policy
 * and of `kubeadm upgrade`: no minor skipped, apiservers within one minor of each other, no minor downgrade and no
 * downgrade by more than one patch, and kubelets at most three minors behind the new apiserver.
 */
export function controlPlaneSkewProblem(target: Version, ctx: SkewContext): string | undefined {
  const { current } = ctx;
  const from = formatVersion(current);
  const to = formatVersion(target);
  if (target.major !== current.major) return `cannot change the major version (${from} -> ${to})`;
  if (target.minor > current.minor + 1) {
    return `cannot upgrade the control plane from ${from} to ${to}: skipping minor versions is not supported (upgrade to 1.${current.minor + 1} first)`;
  }
  if (target.minor < current.minor) {
    return `cannot downgrade the control plane from ${from} to ${to}: a minor version downgrade is not supported`;
  }
  if (target.minor === current.minor && target.patch < current.patch - 1) {
    return `cannot downgrade the control plane from ${from} to ${to}: a downgrade of more than one patch version is not supported`;
  }
  const oldest = ctx.apiservers.reduce((a, b) => (compareVersions(a, b) <= 0 ? a : b), current);
  if (target.minor > oldest.minor + 1) {
    return `cannot upgrade to ${to}: another kube-apiserver runs ${formatVersion(oldest)}, and kube-apiserver instances must be within one minor version of each other`;
  }
  const behind = ctx.kubelets.filter((k) => k.version.minor < target.minor - 3);
  if (behind.length > 0) {
    const names = behind.slice(0, 5).map((k) => `${k.node} (${formatVersion(k.version)})`).join(', ');
    return `cannot upgrade to ${to}: kubelets may be at most 3 minor versions older than kube-apiserver; upgrade these nodes first: ${names}${behind.length > 5 ? ` and ${behind.length - 5} more` : ''}`;
  }
  return undefined;
}

/** Why a kubelet may not run `target` against apiservers as old as `oldestApiserver`, or undefined. */
export function kubeletSkewProblem(target: Version, oldestApiserver: Version): string | undefined {
  if (target.major !== oldestApiserver.major || target.minor > oldestApiserver.minor) {
    return `kubelet ${formatVersion(target)} would be newer than kube-apiserver ${formatVersion(oldestApiserver)}: the kubelet must not be newer than the control plane`;
  }
  if (target.minor < oldestApiserver.minor - 3) {
    return `kubelet ${formatVersion(target)} would be more than 3 minor versions older than kube-apiserver ${formatVersion(oldestApiserver)}`;
  }
  return undefined;
}
