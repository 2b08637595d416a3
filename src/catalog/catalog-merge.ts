/**
 * Upstream release facts merged into the catalog in force. Upstream is the newer word on what it carries (which
 * patches exist, their days, a minor's support dates); everything else (upgrade notes, removed APIs, component
 * compatibility, machine images, and patches the source does not list, since endoflife.date gives only the latest
 * of each minor) is kept from the catalog in force. The result is validated whole like any catalog.
 *
 * @module
 */
import type { Catalog, KubernetesMinor, KubernetesRelease } from '../versions/index.ts';
import { CatalogError, compareMinors, loadCatalog, parseMinor } from '../versions/index.ts';
import { CatalogSourceError } from './catalog-source-error.ts';
import type { UpstreamReleaseData } from './upstream-formats.ts';

const FORMAT_NAMES: Readonly<Record<UpstreamReleaseData['format'], string>> = {
  'endoflife.date': 'the endoflife.date API',
  'kubernetes-website': 'the kubernetes/website release data',
};

/** What {@link mergeReleaseData} made. */
export interface MergedCatalog {
  readonly catalog: Catalog;
  /** Minors of the source older than the catalog's oldest, left out, oldest first as the source had them. */
  readonly leftOut: readonly string[];
}

/** The line of `about` a merge writes (one per catalog: a later merge replaces it). */
const MERGED_PREFIX = 'Release dates merged from ';

/**
 * Merges upstream release facts into `base`.
 * @param source - The file or URL the facts came from, for `about` and messages.
 * @param today - The install day (`YYYY-MM-DD`): the catalog's `published` day when the format does not give one.
 * @throws {CatalogSourceError} when the merge leaves a new minor without an end-of-life day, or any other field the
 *   catalog needs, naming it.
 */
export function mergeReleaseData(
  base: Catalog,
  data: UpstreamReleaseData,
  source: string,
  today: string,
): MergedCatalog {
  const minors = new Map<string, KubernetesMinor>(base.minors.map((m) => [m.minor, m]));
  // Lines older than the catalog's oldest are history kup does not plan for (endoflife.date goes back to 1.x of 2017).
  const oldest = base.minors[0]?.minor;
  const tooOld = (minor: string): boolean =>
    oldest !== undefined && compareMinors(parseMinor(minor), parseMinor(oldest)) < 0;
  const leftOut = data.minors.filter((m) => tooOld(m.minor)).map((m) => m.minor);
  for (const up of data.minors.filter((m) => !tooOld(m.minor))) {
    const known = minors.get(up.minor);
    if (known === undefined) {
      const releaseDate = up.releaseDate ?? data.releases.find((r) => r.version === `${up.minor}.0`)?.releaseDate;
      if (releaseDate === undefined || up.endOfLife === undefined) {
        // A line not yet released (endoflife.date lists none such; the website's schedule may): nothing to plan with.
        if (releaseDate === undefined && !data.releases.some((r) => r.version.startsWith(`${up.minor}.`))) continue;
        throw new CatalogSourceError(
          source,
          `minor ${up.minor} is new to the catalog but the data gives no ${releaseDate === undefined ? 'release day' : 'end-of-life day'} for it`,
        );
      }
      minors.set(up.minor, {
        minor: up.minor,
        releaseDate,
        ...(up.maintenanceStart === undefined ? {} : { maintenanceStart: up.maintenanceStart }),
        endOfLife: up.endOfLife,
        releaseNotes:
          up.releaseNotes ?? `https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-${up.minor}.md`,
        upgradeNotes: [],
      });
      continue;
    }
    const next: KubernetesMinor = {
      ...known,
      ...(up.releaseDate === undefined ? {} : { releaseDate: up.releaseDate }),
      ...(up.maintenanceStart === undefined ? {} : { maintenanceStart: up.maintenanceStart }),
      ...(up.endOfLife === undefined ? {} : { endOfLife: up.endOfLife }),
    };
    // Support dates from upstream replace an estimate of ours.
    minors.set(up.minor, up.endOfLife === undefined ? next : withoutSource(next));
  }

  const releases = new Map<string, KubernetesRelease>(base.releases.map((r) => [r.version, r]));
  for (const up of data.releases.filter((r) => !tooOld(r.version.split('.').slice(0, 2).join('.')))) {
    const known = releases.get(up.version);
    releases.set(up.version, {
      version: up.version,
      releaseDate: up.releaseDate,
      ...(known?.classification === undefined ? {} : { classification: known.classification }),
    });
  }

  const merged = {
    ...base,
    published: data.published ?? today,
    about: [
      ...base.about.filter((line) => !line.startsWith(MERGED_PREFIX)),
      `${MERGED_PREFIX}${FORMAT_NAMES[data.format]} (${source}) on ${today}; upgrade notes, removed APIs, components and images are kup's own.`,
    ],
    minors: [...minors.values()],
    releases: [...releases.values()],
  };
  try {
    return { catalog: loadCatalog(merged), leftOut };
  } catch (err) {
    if (err instanceof CatalogError)
      throw new CatalogSourceError(source, `merged with the catalog in force: ${err.message}`, { cause: err });
    throw err;
  }
}

function withoutSource(entry: KubernetesMinor): KubernetesMinor {
  const copy: { -readonly [K in keyof KubernetesMinor]: KubernetesMinor[K] } = { ...entry };
  delete copy.source;
  return copy;
}
