/**
 * What nodes must bring to run a Kubernetes version: the catalog's per-minor {@link NodeRequirements}, inherited by
 * later minors unless they raise them, and the readers of what a node reports in `status.nodeInfo`
 * (`containerRuntimeVersion`, `kernelVersion`).
 *
 * @module
 */
import type { Catalog, NodeRequirements } from './catalog-types.ts';
import { compareMinors, minorOf, parseMinor } from './semver.ts';
import type { KubeVersion } from './semver.ts';

/** One requirement in force at a version, and the minor that set it. */
export interface RequirementFrom<T> {
  readonly value: T;
  /** The minor whose entry states it (`1.36`). */
  readonly minor: string;
  readonly source: string;
}

/** The requirements in force at a version: each the latest one stated by its minor or an earlier one. */
export interface EffectiveNodeRequirements {
  /** Lowest version by runtime name (`containerd`). */
  readonly containerRuntimes: Readonly<Record<string, RequirementFrom<string>>>;
  readonly minKernel?: RequirementFrom<string>;
  readonly cgroupV2?: RequirementFrom<true>;
}

/** The node requirements a cluster at `version` must meet, from the catalog's minors up to the version's. */
export function nodeRequirementsAt(catalog: Catalog, version: KubeVersion): EffectiveNodeRequirements {
  const runtimes: Record<string, RequirementFrom<string>> = {};
  let minKernel: RequirementFrom<string> | undefined;
  let cgroupV2: RequirementFrom<true> | undefined;
  const upTo = minorOf(version);
  for (const entry of catalog.minors) {
    const req: NodeRequirements | undefined = entry.nodeRequirements;
    if (req === undefined || compareMinors(parseMinor(entry.minor), upTo) > 0) continue;
    const from = { minor: entry.minor, source: req.source };
    for (const [name, min] of Object.entries(req.containerRuntimes ?? {})) runtimes[name] = { value: min, ...from };
    if (req.minKernel !== undefined) minKernel = { value: req.minKernel, ...from };
    if (req.cgroupV2 === true) cgroupV2 = { value: true, ...from };
  }
  return {
    containerRuntimes: runtimes,
    ...(minKernel !== undefined ? { minKernel } : {}),
    ...(cgroupV2 !== undefined ? { cgroupV2 } : {}),
  };
}

/** A node's container runtime: `containerd://1.7.22` is `{ name: 'containerd', version: '1.7.22' }`. */
export function parseRuntimeVersion(text: string): { name: string; version: string } | undefined {
  const m = /^([a-z0-9.-]+):\/\/v?(\d+(?:\.\d+){0,2})/i.exec(text.trim());
  return m?.[1] !== undefined && m[2] !== undefined ? { name: m[1].toLowerCase(), version: m[2] } : undefined;
}

/** The leading version of `uname -r`: `5.15.0-1068-aws` is `5.15.0`; undefined when it has none. */
export function parseKernelVersion(text: string): string | undefined {
  return /^(\d+(?:\.\d+){0,2})/.exec(text.trim())?.[1];
}

/** Compares dotted numeric versions (`1.7.22` < `2.0`); missing parts count as 0. */
export function compareDotted(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
