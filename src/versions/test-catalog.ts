/**
 * A small, made-up catalog for unit tests that need shapes the real history does not have (a release candidate of
 * a minor with no GA yet, a minor without releases). Not shipped data: only tests import it.
 *
 * @module
 */
import type { Catalog } from './catalog-types.ts';
import { loadCatalog } from './catalog-validate.ts';

const changelog = (minor: string): string =>
  `https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-${minor}.md`;

/** Overrides for {@link testCatalog}. */
export interface TestCatalogOptions {
  /** Leave the releases of these minors out (the minors stay declared). */
  readonly withoutReleasesOf?: readonly string[];
}

/**
 * Minors 1.30 to 1.33 on a compressed calendar:
 * - 1.30: 1.30.0 (2025-01-10), 1.30.1, 1.30.2; end of life 2026-01-31.
 * - 1.31: 1.31.0 (2025-04-10), 1.31.1; end of life 2026-04-30.
 * - 1.32: 1.32.0-rc.1, 1.32.0 (2025-07-10), 1.32.1, 1.32.2; end of life 2026-07-31, no maintenance date (2-month default).
 * - 1.33: only 1.33.0-rc.1 (2025-10-01): a preview minor.
 */
export function testCatalog(options: TestCatalogOptions = {}): Catalog {
  const skip = new Set(options.withoutReleasesOf ?? []);
  const releases = [
    { version: '1.30.0', releaseDate: '2025-01-10' },
    { version: '1.30.1', releaseDate: '2025-02-10' },
    { version: '1.30.2', releaseDate: '2025-03-10' },
    { version: '1.31.0', releaseDate: '2025-04-10' },
    { version: '1.31.1', releaseDate: '2025-05-10' },
    { version: '1.32.0-rc.1', releaseDate: '2025-07-01' },
    { version: '1.32.0', releaseDate: '2025-07-10' },
    { version: '1.32.1', releaseDate: '2025-08-10' },
    { version: '1.32.2', releaseDate: '2025-09-10' },
    { version: '1.33.0-rc.1', releaseDate: '2025-10-01' },
  ].filter((r) => !skip.has(r.version.split('.').slice(0, 2).join('.')));
  return loadCatalog({
    schemaVersion: 1,
    about: ['made-up test data'],
    minors: [
      {
        minor: '1.30',
        releaseDate: '2025-01-10',
        maintenanceStart: '2025-12-01',
        endOfLife: '2026-01-31',
        releaseNotes: changelog('1.30'),
        upgradeNotes: ['notes of 1.30'],
      },
      {
        minor: '1.31',
        releaseDate: '2025-04-10',
        maintenanceStart: '2026-03-01',
        endOfLife: '2026-04-30',
        releaseNotes: changelog('1.31'),
        upgradeNotes: ['notes of 1.31'],
      },
      {
        minor: '1.32',
        releaseDate: '2025-07-10',
        endOfLife: '2026-07-31',
        releaseNotes: changelog('1.32'),
        upgradeNotes: ['notes of 1.32'],
      },
      {
        minor: '1.33',
        releaseDate: '2025-10-01',
        endOfLife: '2026-12-31',
        releaseNotes: changelog('1.33'),
        upgradeNotes: ['notes of 1.33'],
      },
    ],
    releases,
    removedApis: [
      {
        group: 'example.k8s.io',
        version: 'v1beta1',
        kind: 'Widget',
        removedIn: '1.32',
        replacement: 'example.k8s.io/v1',
      },
    ],
    components: [],
    machineImages: [],
  });
}
