/**
 * The catalog as `kup versions` shows it: one row per minor with its support stage and releases.
 *
 * @module
 */
import type { Catalog, Classification } from './catalog-types.ts';
import { latestPatch, releasesOfMinor } from './catalog-lookup.ts';
import { classifyMinor, releaseClassification } from './classification.ts';
import { compareMinors, parseMinor } from './semver.ts';

/** One release in the overview. */
export interface ReleaseOverview {
  readonly version: string;
  readonly releaseDate: string;
  readonly classification: Classification;
}

/** One minor line in the overview. */
export interface MinorOverview {
  readonly minor: string;
  readonly classification: Classification;
  /** Latest GA patch, if the minor has one. */
  readonly latest?: string;
  readonly releaseDate: string;
  readonly endOfLife: string;
  readonly releaseNotes: string;
  readonly upgradeNotes: readonly string[];
  /** Every release of the minor, oldest first. */
  readonly releases: readonly ReleaseOverview[];
}

/** The catalog's minors, newest first, classified for `now`. */
export function catalogOverview(catalog: Catalog, now: Date): readonly MinorOverview[] {
  return [...catalog.minors]
    .sort((a, b) => compareMinors(parseMinor(b.minor), parseMinor(a.minor)))
    .map((m) => {
      const latest = latestPatch(catalog, m.minor)?.version;
      return {
        minor: m.minor,
        classification: classifyMinor(catalog, m.minor, now) ?? 'preview',
        ...(latest === undefined ? {} : { latest }),
        releaseDate: m.releaseDate,
        endOfLife: m.endOfLife,
        releaseNotes: m.releaseNotes,
        upgradeNotes: m.upgradeNotes,
        releases: releasesOfMinor(catalog, m.minor).map((r) => ({
          version: r.version,
          releaseDate: r.releaseDate,
          classification: releaseClassification(catalog, r.version, now) ?? 'preview',
        })),
      };
    });
}
