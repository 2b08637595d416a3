/**
 * What a cluster can move to in one request: newer patches of its minor, the releases of the next minor, and the
 * one-patch-back downgrade. The same rules as {@link planUpgradePath} apply, so every version listed can be planned
 * with the same allow options.
 *
 * @module
 */
import type { Catalog, Classification, KubernetesRelease } from './catalog-types.ts';
import { findRelease, previousPatch, releasesOfMinor } from './catalog-lookup.ts';
import { releaseClassification } from './classification.ts';
import { compareVersions, formatVersion, minorOf, nextMinor, parseKubeletVersion, parseVersion } from './semver.ts';

/** A version a cluster can move to. */
export interface AvailableVersion {
  readonly version: string;
  readonly releaseDate: string;
  readonly classification: Classification;
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
   */
  readonly withheld: readonly AvailableVersion[];
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
    if ((classification === 'preview' && options.allowPreview !== true) || (classification === 'expired' && options.allowExpired !== true)) {
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
  return {
    ...base,
    known: true,
    patches,
    nextMinor: next,
    ...(downgrade === undefined ? {} : { downgrade }),
    withheld,
  };
}
