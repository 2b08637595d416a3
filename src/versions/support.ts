/**
 * The way back to support for a cluster on an expired minor.
 *
 * A control plane cannot skip a minor, so a cluster on an expired minor reaches support only through the expired
 * minors in between: the latest patch of its own minor and of each later expired minor, up to the oldest minor still
 * supported. Those versions are "on the way": moving to one of them needs no `--allow-expired`, since it leads toward
 * support. An expired version off that way (an older patch of an expired minor, a downgrade) still does.
 *
 * @module
 */
import type { Catalog } from './catalog-types.ts';
import { knownMinors, releasesOfMinor } from './catalog-lookup.ts';
import { classifyMinor, releaseClassification } from './classification.ts';
import type { KubeVersion, MinorVersion } from './semver.ts';
import { compareMinors, compareVersions, minorOf, parseVersion } from './semver.ts';

/** The newest GA release of a minor out on `now` (what the planner uses as the control plane's hop through it). */
export function latestUsablePatch(catalog: Catalog, minor: MinorVersion, now: Date): KubeVersion | undefined {
  const usable = releasesOfMinor(catalog, minor, { includePrerelease: false }).filter(
    (r) => releaseClassification(catalog, r.version, now) !== 'preview',
  );
  const latest = usable[usable.length - 1];
  return latest === undefined ? undefined : parseVersion(latest.version);
}

/** The oldest minor that is supported or deprecated (not yet expired) on `now`, if the catalog has one. */
export function oldestSupportedMinor(catalog: Catalog, now: Date): MinorVersion | undefined {
  return knownMinors(catalog).find((m) => {
    const classification = classifyMinor(catalog, m, now);
    return classification === 'supported' || classification === 'deprecated';
  });
}

/** The newest minor with a GA release out on `now`, if any. */
export function newestReleasedMinor(catalog: Catalog, now: Date): MinorVersion | undefined {
  return [...knownMinors(catalog)].reverse().find((m) => latestUsablePatch(catalog, m, now) !== undefined);
}

/**
 * Whether moving the control plane from `current` to an expired `target` leads toward support: `target` is newer,
 * it is the latest patch of its minor, and its minor lies between `current`'s and the oldest supported minor.
 */
export function leadsTowardSupport(catalog: Catalog, current: KubeVersion, target: KubeVersion, now: Date): boolean {
  if (compareVersions(target, current) <= 0) return false;
  const oldest = oldestSupportedMinor(catalog, now);
  if (oldest === undefined || compareMinors(minorOf(target), oldest) >= 0) return false;
  const latest = latestUsablePatch(catalog, minorOf(target), now);
  return latest !== undefined && compareVersions(latest, target) === 0;
}
