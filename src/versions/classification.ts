/**
 * Support classification computed from catalog dates and a caller-supplied `now` (no hidden clock).
 *
 * A classification pinned in the data always wins. Otherwise, for a Kubernetes release:
 * 1. a pre-release (alpha, beta, rc) is `preview`, and so is a release dated after `now`;
 *    a minor with no GA release out yet is therefore all preview;
 * 2. after its minor's end-of-life day it is `expired`;
 * 3. from its minor's maintenance start (default: two months before end of life) it is `deprecated`;
 * 4. otherwise it is `supported`.
 * Machine image versions follow the same rules with their own `releaseDate` and `expiresAt`.
 *
 * Dates are whole UTC days: a release dated 2026-04-22 is out from 2026-04-22T00:00Z, and an end of life of
 * 2026-06-28 is still supported until 2026-06-28T23:59:59.999Z.
 *
 * @module
 */
import type {
  Catalog,
  Classification,
  KubernetesMinor,
  KubernetesRelease,
  MachineImageVersion,
} from './catalog-types.ts';
import { findMinor, findRelease, releasesOfMinor } from './catalog-lookup.ts';
import type { KubeVersion, MinorVersion } from './semver.ts';
import { isPrerelease, minorOf, parseVersion } from './semver.ts';

/** Months before end of support during which a release or image counts as `deprecated`, unless dates say otherwise. */
export const DEPRECATION_WINDOW_MONTHS = 2;

function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`);
}

function dayAfter(day: string): number {
  return dayStart(day) + 24 * 60 * 60 * 1000;
}

function monthsBefore(day: string, months: number): number {
  const d = new Date(dayStart(day));
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - months, d.getUTCDate());
}

function byEndOfSupport(endOfSupport: string, deprecatedFrom: number, now: Date): Classification {
  const t = now.getTime();
  if (t >= dayAfter(endOfSupport)) return 'expired';
  if (t >= deprecatedFrom) return 'deprecated';
  return 'supported';
}

function lifecycleOfMinor(minor: KubernetesMinor, now: Date): Classification {
  const deprecatedFrom =
    minor.maintenanceStart === undefined
      ? monthsBefore(minor.endOfLife, DEPRECATION_WINDOW_MONTHS)
      : dayStart(minor.maintenanceStart);
  return byEndOfSupport(minor.endOfLife, deprecatedFrom, now);
}

/**
 * Classifies one release given the facts of its minor.
 * @param release - The release as the catalog lists it.
 * @param minor - Its minor's entry; without one (never the case in a validated catalog) only dates of the release count.
 */
export function classifyRelease(
  release: KubernetesRelease,
  minor: KubernetesMinor | undefined,
  now: Date,
): Classification {
  if (release.classification !== undefined) return release.classification;
  if (isPrerelease(parseVersion(release.version))) return 'preview';
  if (now.getTime() < dayStart(release.releaseDate)) return 'preview';
  return minor === undefined ? 'supported' : lifecycleOfMinor(minor, now);
}

/** Classification of a version in the catalog, or `undefined` when the catalog does not know it. */
export function releaseClassification(
  catalog: Catalog,
  version: string | KubeVersion,
  now: Date,
): Classification | undefined {
  const release = findRelease(catalog, version);
  if (release === undefined) return undefined;
  return classifyRelease(release, findMinor(catalog, minorOf(parseVersion(release.version))), now);
}

/**
 * Classification of a whole minor line: `preview` until a GA release of it is out, then by its dates.
 * Returns `undefined` for a minor the catalog does not declare.
 */
export function classifyMinor(catalog: Catalog, minor: string | MinorVersion, now: Date): Classification | undefined {
  const entry = findMinor(catalog, minor);
  if (entry === undefined) return undefined;
  const gaOut = releasesOfMinor(catalog, minor).some(
    (r) => !isPrerelease(parseVersion(r.version)) && now.getTime() >= dayStart(r.releaseDate),
  );
  return gaOut ? lifecycleOfMinor(entry, now) : 'preview';
}

/** Classifies a machine image version (pinned classification first, then `releaseDate` and `expiresAt`). */
export function classifyImageVersion(image: MachineImageVersion, now: Date): Classification {
  if (image.classification !== undefined) return image.classification;
  if (image.releaseDate !== undefined && now.getTime() < dayStart(image.releaseDate)) return 'preview';
  if (image.expiresAt === undefined) return 'supported';
  return byEndOfSupport(image.expiresAt, monthsBefore(image.expiresAt, DEPRECATION_WINDOW_MONTHS), now);
}
