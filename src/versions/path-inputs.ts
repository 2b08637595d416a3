/**
 * The planner's input, read and checked before any planning (see {@link planUpgradePath}).
 *
 * @module
 */
import type { Catalog } from './catalog-types.ts';
import { isKnownVersion } from './catalog-lookup.ts';
import { UpgradePathError, VersionParseError } from './errors.ts';
import type { PlanPathInput } from './path-types.ts';
import type { KubeVersion } from './semver.ts';
import { formatVersion, minorDistance, minorOf, parseKubeletVersion, parseVersion } from './semver.ts';

/** A worker pool as the planner tracks it while laying out steps. */
export interface PlannedPool {
  readonly name: string;
  /** The pool's kubelet version at this point of the path. */
  version: KubeVersion;
  /** Versions the kubelet runs along the path, first to last. */
  readonly visited: KubeVersion[];
}

/** Checked planner input. */
export interface PathInputs {
  /** Control-plane core version (vendor suffix removed). */
  readonly current: KubeVersion;
  readonly target: KubeVersion;
  readonly pools: PlannedPool[];
}

const fmt = (v: KubeVersion): string => formatVersion(v);

/**
 * Reads and checks the planner's input: versions parse, the control plane and target are in the catalog, pool names
 * are unique and no kubelet is newer than the control plane.
 * @throws {UpgradePathError} `KUP-PATH-001`, `-007`, `-008` or `-009`.
 */
export function readPathInputs(input: PlanPathInput, catalog: Catalog): PathInputs {
  const ids = { from: input.controlPlane, to: input.target };
  let current: KubeVersion;
  let target: KubeVersion;
  try {
    current = parseKubeletVersion(input.controlPlane).version;
  } catch (cause) {
    throw new UpgradePathError(
      'KUP-PATH-001',
      `control-plane version ${JSON.stringify(input.controlPlane)} is not a Kubernetes version`,
      ids,
      { cause },
    );
  }
  try {
    target = parseVersion(input.target);
  } catch (cause) {
    throw new UpgradePathError(
      'KUP-PATH-001',
      `target ${JSON.stringify(input.target)} is not a Kubernetes version`,
      ids,
      { cause },
    );
  }
  if (!isKnownVersion(catalog, current)) {
    throw new UpgradePathError('KUP-PATH-001', `control-plane version ${fmt(current)} is not in the catalog`, ids);
  }
  if (!isKnownVersion(catalog, target)) {
    throw new UpgradePathError('KUP-PATH-001', `target ${fmt(target)} is not in the catalog`, ids);
  }
  const names = new Set<string>();
  const pools = input.pools.map((p): PlannedPool => {
    if (names.has(p.name))
      throw new UpgradePathError('KUP-PATH-009', `two worker pools are named "${p.name}"`, { ...ids, pool: p.name });
    names.add(p.name);
    let version: KubeVersion;
    try {
      version = parseKubeletVersion(p.kubelet).version;
    } catch (cause) {
      if (!(cause instanceof VersionParseError)) throw cause;
      throw new UpgradePathError(
        'KUP-PATH-008',
        `pool "${p.name}": kubelet version ${JSON.stringify(p.kubelet)} is not a Kubernetes version`,
        { ...ids, pool: p.name },
        { cause },
      );
    }
    if (minorDistance(minorOf(version), minorOf(current)) < 0) {
      throw new UpgradePathError(
        'KUP-PATH-007',
        `pool "${p.name}": kubelet ${fmt(version)} is newer than the control plane ${fmt(current)}; the skew policy never allows that, fix the pool before planning`,
        { ...ids, pool: p.name },
      );
    }
    return { name: p.name, version, visited: [version] };
  });
  return { current, target, pools };
}
