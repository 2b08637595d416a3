/**
 * What a catalog update changed: the lines `kup catalog update` prints, so an operator sees what arrived (new minors
 * and patches, moved support dates) before relying on it.
 *
 * @module
 */
import type { Catalog, KubernetesMinor } from '../versions/index.ts';

/** A date of a minor that moved. */
export interface ChangedMinorDate {
  readonly minor: string;
  readonly field: 'releaseDate' | 'maintenanceStart' | 'endOfLife';
  /** `undefined` when the date was not set before (or is no longer set). */
  readonly before: string | undefined;
  readonly after: string | undefined;
}

/** A release whose day moved. */
export interface ChangedReleaseDate {
  readonly version: string;
  readonly before: string;
  readonly after: string;
}

/** The difference between the catalog in force and the one replacing it. */
export interface CatalogChanges {
  readonly addedMinors: readonly string[];
  readonly removedMinors: readonly string[];
  /** Versions, oldest first. */
  readonly addedReleases: readonly string[];
  readonly removedReleases: readonly string[];
  readonly minorDates: readonly ChangedMinorDate[];
  readonly releaseDates: readonly ChangedReleaseDate[];
}

const MINOR_DATES = ['releaseDate', 'maintenanceStart', 'endOfLife'] as const;

/** Compares two catalogs' minors and releases (both sorted oldest first, as loaded catalogs are). */
export function catalogChanges(before: Catalog, after: Catalog): CatalogChanges {
  const oldMinors = new Map<string, KubernetesMinor>(before.minors.map((m) => [m.minor, m]));
  const newMinors = new Set(after.minors.map((m) => m.minor));
  const oldReleases = new Map(before.releases.map((r) => [r.version, r.releaseDate]));
  const newReleases = new Set(after.releases.map((r) => r.version));
  const minorDates: ChangedMinorDate[] = [];
  for (const m of after.minors) {
    const old = oldMinors.get(m.minor);
    if (old === undefined) continue;
    for (const field of MINOR_DATES) {
      if (old[field] !== m[field]) minorDates.push({ minor: m.minor, field, before: old[field], after: m[field] });
    }
  }
  const releaseDates: ChangedReleaseDate[] = [];
  for (const r of after.releases) {
    const old = oldReleases.get(r.version);
    if (old !== undefined && old !== r.releaseDate)
      releaseDates.push({ version: r.version, before: old, after: r.releaseDate });
  }
  return {
    addedMinors: after.minors.filter((m) => !oldMinors.has(m.minor)).map((m) => m.minor),
    removedMinors: before.minors.filter((m) => !newMinors.has(m.minor)).map((m) => m.minor),
    addedReleases: after.releases.filter((r) => !oldReleases.has(r.version)).map((r) => r.version),
    removedReleases: before.releases.filter((r) => !newReleases.has(r.version)).map((r) => r.version),
    minorDates,
    releaseDates,
  };
}

const FIELD_NAMES: Readonly<Record<ChangedMinorDate['field'], string>> = {
  releaseDate: 'release day',
  maintenanceStart: 'maintenance start',
  endOfLife: 'end of life',
};

/** The changes as lines for a person; `['no change']` when there is none. */
export function describeCatalogChanges(changes: CatalogChanges, after: Catalog): string[] {
  const lines: string[] = [];
  for (const minor of changes.addedMinors) {
    const m = after.minors.find((x) => x.minor === minor);
    lines.push(`new minor ${minor}${m ? ` (released ${m.releaseDate}, end of life ${m.endOfLife})` : ''}`);
  }
  if (changes.addedReleases.length > 0) lines.push(`new releases: ${changes.addedReleases.join(', ')}`);
  for (const d of changes.minorDates) {
    lines.push(`${d.minor} ${FIELD_NAMES[d.field]}: ${d.before ?? '(none)'} -> ${d.after ?? '(none)'}`);
  }
  for (const d of changes.releaseDates) lines.push(`${d.version} released: ${d.before} -> ${d.after}`);
  if (changes.removedMinors.length > 0) lines.push(`minors no longer listed: ${changes.removedMinors.join(', ')}`);
  if (changes.removedReleases.length > 0)
    lines.push(`releases no longer listed: ${changes.removedReleases.join(', ')}`);
  return lines.length > 0 ? lines : ['no change'];
}
