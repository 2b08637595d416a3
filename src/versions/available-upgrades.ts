/**
 * What a cluster can move to in one request: newer patches of its minor, the releases of the next minor, and the
 * one-patch-back downgrade. The same rules as {@link planUpgradePath} apply, so every version listed can be planned
 * with the same allow options.
 *
 * @module
 */
import type { Catalog, Classification, KubernetesRelease } from './catalog-types.ts';
import { findMinor, findRelease, previousPatch, releasesOfMinor } from './catalog-lookup.ts';
import { classifyMinor, releaseClassification } from './classification.ts';
import { UpgradePathError } from './errors.ts';
import type { UpgradePath } from './path.ts';
import { planUpgradePath } from './path.ts';
import type { KubeVersion, MinorVersion } from './semver.ts';
import {
  compareMinors,
  compareVersions,
  formatMinor,
  formatVersion,
  minorOf,
  nextMinor,
  parseKubeletVersion,
  parseVersion,
} from './semver.ts';
import { latestUsablePatch, leadsTowardSupport, newestReleasedMinor, oldestSupportedMinor } from './support.ts';

/** A version a cluster can move to. */
export interface AvailableVersion {
  readonly version: string;
  readonly releaseDate: string;
  readonly classification: Classification;
}

/** The control plane's way from an expired minor to a minor further on: each version it runs, in order. */
export interface WayForward {
  /** The minor the way ends in. */
  readonly minor: string;
  /** Control-plane versions, one hop each, the last one the latest patch of {@link minor}. */
  readonly hops: readonly string[];
}

/** What a cluster on an expired minor is told: when support ended, and the ways back to it. */
export interface PastEndOfSupport {
  /** The cluster's minor. */
  readonly minor: string;
  /** Last day of its support. */
  readonly endOfLife: string;
  /** To the latest patch of the oldest minor still supported; absent when the catalog has none. */
  readonly toOldestSupported?: WayForward;
  /** To the latest patch of the newest released minor; absent when the catalog has none. */
  readonly toNewest?: WayForward;
}

/** The moves open to a cluster. */
export interface AvailableUpgrades {
  /** The cluster's version (core version, vendor suffix removed). */
  readonly current: string;
  /** False when the catalog does not know the current version: then nothing is listed. */
  readonly known: boolean;
  /** Newer patches of the current minor, oldest first. */
  readonly patches: readonly AvailableVersion[];
  /** Releases of the next minor, oldest first. */
  readonly nextMinor: readonly AvailableVersion[];
  /** The previous patch of the current minor, if a downgrade to it is possible. */
  readonly downgrade?: AvailableVersion;
  /**
   * Newer versions of those minors left out because they are expired or previews and the options do not allow them,
   * oldest first: a cluster with none listed but some withheld is not up to date, it is stuck (or asked to look ahead).
   * Expired versions on the way toward support (the latest patch of each expired minor) are listed, not withheld.
   */
  readonly withheld: readonly AvailableVersion[];
  /** Set when the cluster's minor is past its end of support. */
  readonly pastEndOfSupport?: PastEndOfSupport;
}

/** Options of {@link availableUpgrades}: the same switches as the planner's. */
export interface AvailableUpgradesOptions {
  /** @default false */
  readonly allowPreview?: boolean;
  /** @default false */
  readonly allowExpired?: boolean;
}

/**
 * The versions a cluster at `current` can move to.
 *
 * @param current - Control-plane version, vendor suffix allowed.
 * @param now - The day asked about (classification depends on it).
 * @throws {VersionParseError} when `current` cannot be read at all.
 */
export function availableUpgrades(
  current: string,
  catalog: Catalog,
  now: Date,
  options: AvailableUpgradesOptions = {},
): AvailableUpgrades {
  const version = parseKubeletVersion(current).version;
  const base = { current: formatVersion(version) };
  if (findRelease(catalog, version) === undefined) return { ...base, known: false, patches: [], nextMinor: [], withheld: [] };

  const withheld: AvailableVersion[] = [];
  const view = (release: KubernetesRelease, newer = true): AvailableVersion | undefined => {
    const classification = releaseClassification(catalog, release.version, now) ?? 'supported';
    const found = { version: release.version, releaseDate: release.releaseDate, classification };
    const expiredRefused =
      classification === 'expired' &&
      options.allowExpired !== true &&
      !leadsTowardSupport(catalog, version, parseVersion(release.version), now);
    if ((classification === 'preview' && options.allowPreview !== true) || expiredRefused) {
      if (newer) withheld.push(found);
      return undefined;
    }
    return found;
  };
  const newer = (r: KubernetesRelease): boolean => compareVersions(parseVersion(r.version), version) > 0;
  const usable = (releases: readonly KubernetesRelease[]): AvailableVersion[] =>
    releases.filter(newer).flatMap((r) => view(r) ?? []);

  const previous = previousPatch(catalog, version);
  const downgrade = previous === undefined ? undefined : view(previous, false);
  const currentMinor = minorOf(version);
  const patches = usable(releasesOfMinor(catalog, currentMinor));
  const next = usable(releasesOfMinor(catalog, nextMinor(currentMinor)));
  const past = pastEndOfSupport(catalog, version, currentMinor, now);
  return {
    ...base,
    known: true,
    patches,
    nextMinor: next,
    ...(downgrade === undefined ? {} : { downgrade }),
    withheld,
    ...(past === undefined ? {} : { pastEndOfSupport: past }),
  };
}

function pastEndOfSupport(
  catalog: Catalog,
  version: KubeVersion,
  minor: MinorVersion,
  now: Date,
): PastEndOfSupport | undefined {
  const entry = findMinor(catalog, minor);
  if (entry === undefined || classifyMinor(catalog, minor, now) !== 'expired') return undefined;
  const way = (to: MinorVersion | undefined): WayForward | undefined => {
    if (to === undefined || compareMinors(to, minor) <= 0) return undefined;
    const target = latestUsablePatch(catalog, to, now);
    if (target === undefined) return undefined;
    // The planner lays out the hops, so what is shown here is what `kup plan` will do; a way it refuses (a catalog
    // whose every minor has expired) is not shown.
    let path: UpgradePath;
    try {
      path = planUpgradePath({ controlPlane: formatVersion(version), pools: [], target: formatVersion(target) }, catalog, { now });
    } catch (err) {
      if (err instanceof UpgradePathError) return undefined;
      throw err;
    }
    return { minor: formatMinor(to), hops: path.steps.flatMap((s) => (s.kind === 'control-plane' ? [s.to] : [])) };
  };
  const toOldestSupported = way(oldestSupportedMinor(catalog, now));
  const toNewest = way(newestReleasedMinor(catalog, now));
  return {
    minor: entry.minor,
    endOfLife: entry.endOfLife,
    ...(toOldestSupported === undefined ? {} : { toOldestSupported }),
    ...(toNewest === undefined ? {} : { toNewest }),
  };
}
