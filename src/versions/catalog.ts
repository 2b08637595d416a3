/**
 * The version catalog: Kubernetes releases, removed APIs, component compatibility and machine images.
 * kup ships one ({@link defaultCatalog}, from `catalog-data.json`) and can load another at run time with
 * {@link loadCatalog}, so new patch releases arrive without a new kup.
 *
 * @module
 */
import shipped from './catalog-data.json' with { type: 'json' };
import type { Catalog } from './catalog-types.ts';
import { loadCatalog } from './catalog-validate.ts';

export type {
  Catalog,
  Classification,
  ComponentCompatibility,
  Confidence,
  KubernetesMinor,
  KubernetesRelease,
  MachineImage,
  MachineImageVersion,
  ReleaseSource,
  RemovedApi,
} from './catalog-types.ts';
export { CLASSIFICATIONS, CONFIDENCES, RELEASE_SOURCES } from './catalog-types.ts';
export { loadCatalog } from './catalog-validate.ts';
export {
  findMachineImage,
  findMinor,
  findRelease,
  isKnownVersion,
  knownMinors,
  latestPatch,
  previousPatch,
  releasesOfMinor,
  removedApisBetween,
} from './catalog-lookup.ts';
export type { MinorReleasesOptions } from './catalog-lookup.ts';
export {
  classifyImageVersion,
  classifyMinor,
  classifyRelease,
  DEPRECATION_WINDOW_MONTHS,
  releaseClassification,
} from './classification.ts';

let cached: Catalog | undefined;

/** The catalog shipped with this kup (validated once, then shared: treat it as read-only). */
export function defaultCatalog(): Catalog {
  cached ??= loadCatalog(shipped);
  return cached;
}

/** The catalog as JSON text that {@link loadCatalog} reads back unchanged (for `kup catalog update` to store). */
export function serializeCatalog(catalog: Catalog): string {
  return `${JSON.stringify(catalog, null, 2)}\n`;
}
