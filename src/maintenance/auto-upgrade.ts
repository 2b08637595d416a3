/**
 * Auto-upgrade policies and what they choose. Pure: the catalog and `now` are arguments.
 *
 * Kubernetes channels follow GKE's release channels and AKS's auto-upgrade channels:
 * - `none`: no automatic Kubernetes upgrade (an expired version is still moved on: see below);
 * - `patch`: the latest patch of the minor the cluster runs;
 * - `stable`: toward the newest minor whose `.0` has been out for `stableMinAgeDays`, one minor per run;
 * - `rapid`: toward the newest released minor, one minor per run.
 * A preview (a pre-release, or a release dated after `now`) is never chosen.
 *
 * A control plane past its end of support moves on even under `none`, as Gardener's forced updates do: to the latest
 * patch of its minor if only that release expired, else to the latest patch of the next minor, one minor per run
 * (it cannot skip one), until it is supported again.
 *
 * Machine images: `none | patch | minor | major` bound how far a pool's image version may move (same first two
 * numbers, same first number, or any newer version); an expired image moves to the newest usable version under any
 * policy.
 *
 * @module
 */
import type { Catalog, KubeVersion, MinorVersion } from '../versions/index.ts';
import {
  classifyImageVersion,
  classifyMinor,
  compareDotted,
  compareMinors,
  compareVersions,
  findMachineImage,
  findMinor,
  formatMinor,
  formatVersion,
  knownMinors,
  latestUsablePatch,
  minorOf,
  nextMinor,
  parseVersion,
  releaseClassification,
  releasesOfMinor,
} from '../versions/index.ts';
import { MaintenanceError, MaintenanceErrorCode } from './errors.ts';

const DAY = 86_400_000;

/** Kubernetes auto-upgrade channels. */
export const KUBERNETES_CHANNELS = ['none', 'patch', 'stable', 'rapid'] as const;
/** A Kubernetes auto-upgrade channel. */
export type KubernetesChannel = (typeof KUBERNETES_CHANNELS)[number];

/** Machine image auto-upgrade policies. */
export const IMAGE_CHANNELS = ['none', 'patch', 'minor', 'major'] as const;
/** A machine image auto-upgrade policy. */
export type ImageChannel = (typeof IMAGE_CHANNELS)[number];

/** A cluster's auto-upgrade policy. */
export interface AutoUpgradePolicy {
  /** @default 'none' */
  readonly kubernetes: KubernetesChannel;
  /** `stable` only: how long a minor's `.0` must have been out. @default 30 */
  readonly stableMinAgeDays: number;
  /** @default 'none' */
  readonly images: ImageChannel;
}

/** Nothing automatic but what an expiration forces. */
export const DEFAULT_POLICY: AutoUpgradePolicy = { kubernetes: 'none', stableMinAgeDays: 30, images: 'none' };

/**
 * Validates a policy as read from JSON (missing fields take their defaults), naming the field at fault.
 * @throws {MaintenanceError} `KUP-MAINT-004`.
 */
export function parsePolicy(input: unknown, field = 'policy'): AutoUpgradePolicy {
  const bad = (path: string, message: string): never => {
    throw new MaintenanceError(MaintenanceErrorCode.invalidPolicy, path, message);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad(field, 'must be an object');
  const p = input as Record<string, unknown>;
  const kubernetes = p.kubernetes ?? DEFAULT_POLICY.kubernetes;
  if (typeof kubernetes !== 'string' || !(KUBERNETES_CHANNELS as readonly string[]).includes(kubernetes))
    bad(`${field}.kubernetes`, `${JSON.stringify(kubernetes)} is not one of ${KUBERNETES_CHANNELS.join(', ')}`);
  const images = p.images ?? DEFAULT_POLICY.images;
  if (typeof images !== 'string' || !(IMAGE_CHANNELS as readonly string[]).includes(images))
    bad(`${field}.images`, `${JSON.stringify(images)} is not one of ${IMAGE_CHANNELS.join(', ')}`);
  const age = p.stableMinAgeDays ?? DEFAULT_POLICY.stableMinAgeDays;
  if (typeof age !== 'number' || !Number.isInteger(age) || age < 0 || age > 365)
    bad(`${field}.stableMinAgeDays`, `${JSON.stringify(age)} is not a whole number of days from 0 to 365`);
  return {
    kubernetes: kubernetes as KubernetesChannel,
    stableMinAgeDays: age as number,
    images: images as ImageChannel,
  };
}

/** Why an automatic Kubernetes upgrade was chosen. */
export type KubernetesTrigger = 'expired' | Exclude<KubernetesChannel, 'none'>;

/** The Kubernetes version an automatic run would move the control plane to, and why; or why none. */
export type KubernetesChoice =
  | { readonly action: 'none'; readonly message: string }
  | {
      readonly action: 'upgrade';
      readonly from: string;
      readonly to: string;
      readonly trigger: KubernetesTrigger;
      /** The run moves the control plane to another minor. */
      readonly minor: boolean;
      readonly message: string;
    };

/** What the policy (or an expiration) makes of a control plane at `current`. */
export function chooseKubernetes(
  catalog: Catalog,
  policy: AutoUpgradePolicy,
  current: string,
  now: number,
): KubernetesChoice {
  const at = new Date(now);
  const version = parseVersion(current);
  const minor = minorOf(version);
  const upgrade = (to: KubeVersion, trigger: KubernetesTrigger, message: string): KubernetesChoice => ({
    action: 'upgrade',
    from: formatVersion(version),
    to: formatVersion(to),
    trigger,
    minor: compareMinors(minorOf(to), minor) !== 0,
    message,
  });

  const classification = releaseClassification(catalog, version, at);
  if (classification === 'expired') {
    const end = findMinor(catalog, minor)?.endOfLife;
    const sameMinor = latestUsablePatch(catalog, minor, at);
    const minorExpired = classifyMinor(catalog, minor, at) === 'expired';
    if (!minorExpired && sameMinor !== undefined && releaseClassification(catalog, sameMinor, at) !== 'expired')
      return upgrade(
        sameMinor,
        'expired',
        `${current} is past its end of support: moving to ${formatVersion(sameMinor)}, the latest patch of ${formatMinor(minor)}`,
      );
    const next = nextReleasedMinor(catalog, minor, at);
    if (next !== undefined)
      return upgrade(
        next,
        'expired',
        `${formatMinor(minor)} is past its end of support${end ? ` (${end})` : ''}: moving to ${formatVersion(next)}, the latest patch of the next minor, even with auto-upgrade off`,
      );
    return {
      action: 'none',
      message: `${current} is past its end of support, and the catalog has no newer minor released to move to`,
    };
  }

  if (policy.kubernetes === 'none') return { action: 'none', message: 'auto-upgrade of Kubernetes is off (none)' };

  const latestOfMinor = latestUsablePatch(catalog, minor, at);
  let wanted: MinorVersion = minor;
  if (policy.kubernetes === 'stable' || policy.kubernetes === 'rapid') {
    const newest = newestEligibleMinor(catalog, policy, now);
    if (newest !== undefined && compareMinors(newest, minor) > 0) wanted = nextMinor(minor);
  }
  if (compareMinors(wanted, minor) > 0) {
    const target = latestUsablePatch(catalog, wanted, at);
    if (target !== undefined) {
      // Straight to the newest patch of the next minor: the skew policy allows it from any patch of this one.
      const why =
        policy.kubernetes === 'stable'
          ? `a newer minor has been out for at least ${policy.stableMinAgeDays} days (stable): one minor per run`
          : 'a newer minor is released (rapid): one minor per run';
      return upgrade(target, policy.kubernetes, `${formatVersion(target)}: ${why}`);
    }
  }
  if (latestOfMinor !== undefined && compareVersions(latestOfMinor, version) > 0)
    return upgrade(
      latestOfMinor,
      policy.kubernetes,
      `${formatVersion(latestOfMinor)} is the latest patch of ${formatMinor(minor)} (${policy.kubernetes})`,
    );
  return { action: 'none', message: `${current} is what the ${policy.kubernetes} channel asks for: nothing to do` };
}

/** The newest released minor the channel accepts: for `stable`, one whose `.0` is at least `stableMinAgeDays` old. */
function newestEligibleMinor(catalog: Catalog, policy: AutoUpgradePolicy, now: number): MinorVersion | undefined {
  const at = new Date(now);
  return [...knownMinors(catalog)].reverse().find((m) => {
    if (latestUsablePatch(catalog, m, at) === undefined) return false;
    const c = classifyMinor(catalog, m, at);
    if (c === 'preview' || c === 'expired') return false;
    if (policy.kubernetes !== 'stable') return true;
    const first = releasesOfMinor(catalog, m, { includePrerelease: false })[0];
    return first !== undefined && now - Date.parse(`${first.releaseDate}T00:00:00Z`) >= policy.stableMinAgeDays * DAY;
  });
}

/** The latest usable patch of the first minor after `minor` that has one. */
function nextReleasedMinor(catalog: Catalog, minor: MinorVersion, at: Date): KubeVersion | undefined {
  const next = nextMinor(minor);
  if (findMinor(catalog, next) === undefined) return undefined;
  return latestUsablePatch(catalog, next, at);
}

/** The machine image version a pool would move to, and why; or why none. */
export type ImageChoice =
  | { readonly action: 'none'; readonly message: string }
  | {
      readonly action: 'upgrade';
      readonly image: string;
      readonly from: string;
      readonly to: string;
      readonly trigger: 'expired' | Exclude<ImageChannel, 'none'>;
      readonly message: string;
    };

/** What the policy (or an expiration) makes of a pool running `image` at `version`. */
export function chooseImage(
  catalog: Catalog,
  policy: AutoUpgradePolicy,
  image: string,
  version: string,
  now: number,
): ImageChoice {
  const at = new Date(now);
  const entry = findMachineImage(catalog, image);
  if (entry === undefined)
    return { action: 'none', message: `image ${image} is not in the catalog: kup cannot tell its newer versions` };
  const usable = entry.versions
    .filter((v) => {
      const c = classifyImageVersion(v, at);
      return c === 'supported' || c === 'deprecated';
    })
    .map((v) => v.version)
    .sort(compareDotted);
  const newer = usable.filter((v) => compareDotted(v, version) > 0);
  const currentEntry = entry.versions.find((v) => v.version === version);
  const expired = currentEntry !== undefined && classifyImageVersion(currentEntry, at) === 'expired';
  const newest = newer[newer.length - 1];
  if (expired) {
    if (newest === undefined)
      return { action: 'none', message: `${image} ${version} is expired, and the catalog has no newer usable version` };
    return {
      action: 'upgrade',
      image,
      from: version,
      to: newest,
      trigger: 'expired',
      message: `${image} ${version} expired${currentEntry?.expiresAt ? ` on ${currentEntry.expiresAt}` : ''}: moving to ${newest} even with image auto-upgrade ${policy.images}`,
    };
  }
  if (policy.images === 'none') return { action: 'none', message: 'auto-upgrade of machine images is off (none)' };
  const [major, minor] = version.split('.');
  const inScope = newer.filter((v) => {
    const [vMajor, vMinor] = v.split('.');
    if (policy.images === 'patch') return vMajor === major && vMinor === minor;
    if (policy.images === 'minor') return vMajor === major;
    return true;
  });
  const target = inScope[inScope.length - 1];
  if (target === undefined)
    return {
      action: 'none',
      message: `${image} ${version} is the newest version the ${policy.images} policy allows${newest !== undefined ? ` (${newest} is out of its scope)` : ''}`,
    };
  return {
    action: 'upgrade',
    image,
    from: version,
    to: target,
    trigger: policy.images,
    message: `${image} ${target} is the newest ${policy.images} version after ${version}`,
  };
}
