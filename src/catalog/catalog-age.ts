/**
 * How old the catalog in force is. A catalog knows only the releases out when it was made: past a month, newer
 * patches (security fixes among them) have most likely come out, and `kup versions` says so.
 *
 * @module
 */
import type { Catalog } from '../versions/index.ts';

/** Days after which `kup versions` warns that the catalog is out of date. */
export const STALE_CATALOG_DAYS = 30;

/** The age of a catalog on a day. */
export interface CatalogAge {
  /** The day its data dates from: its `published` day, or else its newest release's day. */
  readonly since: string;
  /** Whether {@link since} is the `published` day (otherwise the newest release's, a lower bound). */
  readonly published: boolean;
  /** Whole days from {@link since} to the day asked about (0 when that day is earlier). */
  readonly days: number;
  /** Older than {@link STALE_CATALOG_DAYS}. */
  readonly stale: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The catalog's age on `now`. */
export function catalogAge(catalog: Catalog, now: Date): CatalogAge {
  const newest = catalog.releases.reduce(
    (latest, r) => (r.releaseDate > latest ? r.releaseDate : latest),
    '0000-01-01',
  );
  const since = catalog.published ?? newest;
  const days = Math.max(0, Math.floor((now.getTime() - Date.parse(`${since}T00:00:00.000Z`)) / DAY_MS));
  return { since, published: catalog.published !== undefined, days, stale: days > STALE_CATALOG_DAYS };
}
