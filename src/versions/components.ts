/**
 * Component compatibility lookups for prechecks: does this CoreDNS / kube-proxy / CNI / ingress controller version
 * support that Kubernetes minor, according to the catalog?
 *
 * @module
 */
import type { Catalog, ComponentCompatibility } from './catalog-types.ts';
import type { MinorVersion } from './semver.ts';
import { compareMinors, compareVersions, parseKubeletVersion, parseMinor, parseVersion } from './semver.ts';

/** The catalog's verdict on one component version against one Kubernetes minor. */
export type CompatibilityVerdict =
  /** An entry covers the component version and lists the minor. */
  | { readonly status: 'compatible'; readonly entry: ComponentCompatibility }
  /** An entry covers the component version but the minor is outside its range. */
  | { readonly status: 'incompatible'; readonly entry: ComponentCompatibility }
  /** No entry covers the component version: the catalog cannot say. */
  | { readonly status: 'unknown' };

/**
 * Checks a component version against a Kubernetes minor.
 *
 * @param component - Component name as the catalog spells it (`coredns`, `calico`, `ingress-nginx`, ...).
 * @param version - The component's image version; a `v` prefix and vendor suffixes are accepted (`v3.27.2`).
 * @param kubernetes - The Kubernetes minor, e.g. `1.31`.
 * @throws {VersionParseError} when `version` or `kubernetes` cannot be read.
 */
export function componentCompatibility(
  catalog: Catalog,
  component: string,
  version: string,
  kubernetes: string | MinorVersion,
): CompatibilityVerdict {
  const v = parseKubeletVersion(version).version;
  const minor = typeof kubernetes === 'string' ? parseMinor(kubernetes) : kubernetes;
  const entry = catalog.components.find(
    (e) =>
      e.component === component &&
      compareVersions(v, parseVersion(e.versions.from)) >= 0 &&
      (e.versions.below === undefined || compareVersions(v, parseVersion(e.versions.below)) < 0),
  );
  if (entry === undefined) return { status: 'unknown' };
  const inRange =
    compareMinors(minor, parseMinor(entry.kubernetes.from)) >= 0 &&
    (entry.kubernetes.to === undefined || compareMinors(minor, parseMinor(entry.kubernetes.to)) <= 0);
  return { status: inRange ? 'compatible' : 'incompatible', entry };
}
