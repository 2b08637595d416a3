/**
 * Questions asked of a catalog: is a version known, which releases does a minor have, what is its latest patch.
 * Lookups take versions as strings (`1.30.4`, `v1.30.4`) or parsed {@link KubeVersion}s and never throw on a
 * malformed string: an unreadable version is simply not known.
 *
 * @module
 */
import type { Catalog, KubernetesMinor, KubernetesRelease, MachineImage, RemovedApi } from './catalog-types.ts';
import type { KubeVersion, MinorVersion } from './semver.ts';
import {
  compareMinors,
  compareVersions,
  formatMinor,
  formatVersion,
  isPrerelease,
  minorOf,
  parseMinor,
  parseVersion,
  sameMinor,
  tryParseVersion,
} from './semver.ts';

function asVersion(version: string | KubeVersion): KubeVersion | undefined {
  return typeof version === 'string' ? tryParseVersion(version) : version;
}

function asMinor(minor: string | MinorVersion): MinorVersion | undefined {
  if (typeof minor !== 'string') return minor;
  try {
    return parseMinor(minor);
  } catch {
    return undefined;
  }
}

/** The catalog entry of a minor line (`1.30`), if declared. */
export function findMinor(catalog: Catalog, minor: string | MinorVersion): KubernetesMinor | undefined {
  const wanted = asMinor(minor);
  if (wanted === undefined) return undefined;
  const key = formatMinor(wanted);
  return catalog.minors.find((m) => m.minor === key);
}

/** The catalog entry of a version, if known. */
export function findRelease(catalog: Catalog, version: string | KubeVersion): KubernetesRelease | undefined {
  const wanted = asVersion(version);
  if (wanted === undefined) return undefined;
  const key = formatVersion(wanted);
  return catalog.releases.find((r) => r.version === key);
}

/** True when the catalog lists this exact version. */
export function isKnownVersion(catalog: Catalog, version: string | KubeVersion): boolean {
  return findRelease(catalog, version) !== undefined;
}

/** Options of {@link releasesOfMinor} and {@link latestPatch}. */
export interface MinorReleasesOptions {
  /**
   * Include alpha, beta and release-candidate builds.
   * @default true for {@link releasesOfMinor}, false for {@link latestPatch}
   */
  readonly includePrerelease?: boolean;
}

/** Releases of one minor line, oldest first. */
export function releasesOfMinor(
  catalog: Catalog,
  minor: string | MinorVersion,
  options: MinorReleasesOptions = {},
): readonly KubernetesRelease[] {
  const wanted = asMinor(minor);
  if (wanted === undefined) return [];
  const includePrerelease = options.includePrerelease ?? true;
  return catalog.releases
    .map((release) => ({ release, version: parseVersion(release.version) }))
    .filter(({ version }) => sameMinor(minorOf(version), wanted) && (includePrerelease || !isPrerelease(version)))
    .sort((a, b) => compareVersions(a.version, b.version))
    .map(({ release }) => release);
}

/** The newest release of a minor line (GA only unless asked), or `undefined` when it has none. */
export function latestPatch(
  catalog: Catalog,
  minor: string | MinorVersion,
  options: MinorReleasesOptions = {},
): KubernetesRelease | undefined {
  const releases = releasesOfMinor(catalog, minor, { includePrerelease: options.includePrerelease ?? false });
  return releases[releases.length - 1];
}

/** The GA release of the same minor just before `version` (the one-patch-back downgrade), if any. */
export function previousPatch(catalog: Catalog, version: string | KubeVersion): KubernetesRelease | undefined {
  const current = asVersion(version);
  if (current === undefined) return undefined;
  const older = releasesOfMinor(catalog, minorOf(current), { includePrerelease: false }).filter(
    (r) => compareVersions(parseVersion(r.version), current) < 0,
  );
  return older[older.length - 1];
}

/** Minor lines the catalog declares, oldest first. */
export function knownMinors(catalog: Catalog): readonly MinorVersion[] {
  return catalog.minors.map((m) => parseMinor(m.minor)).sort(compareMinors);
}

/** APIs removed in the minors after `from` up to and including `to` (what moving from `from` to `to` crosses). */
export function removedApisBetween(
  catalog: Catalog,
  from: string | MinorVersion,
  to: string | MinorVersion,
): readonly RemovedApi[] {
  const lo = asMinor(from);
  const hi = asMinor(to);
  if (lo === undefined || hi === undefined) return [];
  return catalog.removedApis.filter((api) => {
    const removedIn = parseMinor(api.removedIn);
    return compareMinors(removedIn, lo) > 0 && compareMinors(removedIn, hi) <= 0;
  });
}

/** A machine image by name, if the catalog lists it. */
export function findMachineImage(catalog: Catalog, name: string): MachineImage | undefined {
  return catalog.machineImages.find((image) => image.name === name);
}
