/**
 * The upgrade-path planner.
 *
 * Rules:
 * - The control plane never skips a minor: from 1.28.x to 1.31.y it goes through the latest patch of 1.29 and of
 *   1.30, then to the target.
 * - Before each control-plane hop, a pool whose kubelet would fall out of the skew policy (see {@link maxKubeletSkew})
 *   moves first, to the control plane's version at that moment.
 * - Pools then only move when forced and once at the end (`minimal`, the default, as Cluster API's chained upgrades)
 *   or follow every hop (`follow`); the path says which hops a pool skips. Every pool ends at the target.
 * - Downgrade only to the previous patch of the same minor; nodes go back before the control plane.
 * - Same version everywhere: `nothing-to-do`, not an error.
 * - Unknown versions, and preview or expired targets (unless allowed), are refused with an {@link UpgradePathError};
 *   an expired target on the way from an expired minor toward support (see {@link leadsTowardSupport}) is not.
 *
 * @module
 */
import type { Catalog } from './catalog-types.ts';
import { findMinor, previousPatch, releasesOfMinor, removedApisBetween } from './catalog-lookup.ts';
import { releaseClassification } from './classification.ts';
import { UpgradePathError } from './errors.ts';
import type { PlannedPool } from './path-inputs.ts';
import { readPathInputs } from './path-inputs.ts';
import type {
  PathNote,
  PlanPathInput,
  PlanPathOptions,
  PoolMoveReason,
  UpgradePath,
  UpgradeStep,
  WorkerStrategy,
} from './path-types.ts';
import type { KubeVersion, MinorVersion } from './semver.ts';
import {
  compareMinors,
  compareVersions,
  formatMinor,
  formatVersion,
  isPrerelease,
  minorDistance,
  minorOf,
  nextMinor,
  parseVersion,
  sameMinor,
} from './semver.ts';
import { maxKubeletSkew } from './skew.ts';
import { leadsTowardSupport } from './support.ts';

export type {
  PathNote,
  PlanPathInput,
  PlanPathOptions,
  PoolInput,
  PoolMoveReason,
  UpgradePath,
  UpgradePathKind,
  UpgradeStep,
  WorkerStrategy,
} from './path-types.ts';

const fmt = (v: KubeVersion): string => formatVersion(v);

function checkTarget(
  catalog: Catalog,
  current: KubeVersion,
  target: KubeVersion,
  options: PlanPathOptions,
  ids: { from: string; to: string },
): PathNote[] {
  const classification = releaseClassification(catalog, target, options.now);
  const v = fmt(target);
  if (classification === 'preview') {
    if (options.allowPreview !== true) {
      throw new UpgradePathError('KUP-PATH-004', `target ${v} is a preview release; set allowPreview to use it`, ids);
    }
    return [
      {
        kind: 'target-classification',
        version: v,
        classification,
        message: `target ${v} is a preview release (allowed)`,
      },
    ];
  }
  if (classification === 'expired') {
    // From an expired minor the only way back to support is through the expired minors after it: their latest
    // patches need no allowExpired. Any other expired target (an older patch, a downgrade) does.
    if (options.allowExpired !== true && leadsTowardSupport(catalog, current, target, options.now)) {
      return [
        {
          kind: 'target-classification',
          version: v,
          classification,
          towardSupport: true,
          message: `target ${v} is past its end of support, but it is on the way from ${fmt(current)} toward a supported minor`,
        },
      ];
    }
    if (options.allowExpired !== true) {
      throw new UpgradePathError(
        'KUP-PATH-005',
        `target ${v} is past its end of support; set allowExpired to use it`,
        ids,
      );
    }
    return [
      {
        kind: 'target-classification',
        version: v,
        classification,
        message: `target ${v} is past its end of support (allowed)`,
      },
    ];
  }
  if (classification === 'deprecated') {
    return [
      { kind: 'target-classification', version: v, classification, message: `target ${v} is near its end of support` },
    ];
  }
  return [];
}

/** The versions the control plane steps through: latest usable GA patch of each minor in between, then the target. */
function controlPlaneHops(
  catalog: Catalog,
  current: KubeVersion,
  target: KubeVersion,
  now: Date,
  ids: { from: string; to: string },
): KubeVersion[] {
  const hops: KubeVersion[] = [];
  for (let m: MinorVersion = nextMinor(minorOf(current)); compareMinors(m, minorOf(target)) < 0; m = nextMinor(m)) {
    const usable = releasesOfMinor(catalog, m, { includePrerelease: false }).filter(
      (r) => releaseClassification(catalog, r.version, now) !== 'preview',
    );
    const latest = usable[usable.length - 1];
    if (latest === undefined) {
      throw new UpgradePathError(
        'KUP-PATH-006',
        `cannot go from ${fmt(current)} to ${fmt(target)}: minor ${formatMinor(m)} has no released GA version in the catalog and the control plane cannot skip a minor`,
        ids,
      );
    }
    hops.push(parseVersion(latest.version));
  }
  hops.push(target);
  return hops;
}

function upgradeNotes(catalog: Catalog, current: KubeVersion, target: KubeVersion): PathNote[] {
  const notes: PathNote[] = [];
  for (let m = nextMinor(minorOf(current)); compareMinors(m, minorOf(target)) <= 0; m = nextMinor(m)) {
    const entry = findMinor(catalog, m);
    if (entry === undefined) continue;
    const removedApis = removedApisBetween(catalog, { major: m.major, minor: m.minor - 1 }, m);
    notes.push({
      kind: 'upgrade-notes',
      minor: entry.minor,
      releaseNotes: entry.releaseNotes,
      notes: entry.upgradeNotes,
      removedApis,
      message: `entering ${entry.minor}: read its upgrade notes (${entry.upgradeNotes.length}) and removed APIs (${removedApis.length}); release notes ${entry.releaseNotes}`,
    });
  }
  return notes;
}

function movePool(pool: PlannedPool, to: KubeVersion, reason: PoolMoveReason): UpgradeStep {
  const step: UpgradeStep = { kind: 'pool', pool: pool.name, from: fmt(pool.version), to: fmt(to), reason };
  pool.version = to;
  pool.visited.push(to);
  return step;
}

function planUpgrade(
  catalog: Catalog,
  current: KubeVersion,
  target: KubeVersion,
  pools: PlannedPool[],
  strategy: WorkerStrategy,
  options: PlanPathOptions,
  ids: { from: string; to: string },
): { steps: UpgradeStep[]; notes: PathNote[] } {
  const steps: UpgradeStep[] = [];
  const notes: PathNote[] = [];
  const moves = compareVersions(target, current) > 0;
  const hops = moves ? controlPlaneHops(catalog, current, target, options.now, ids) : [];

  // A pool already beyond the policy comes back to the control plane's version before anything else moves.
  for (const pool of pools) {
    const lag = minorDistance(minorOf(pool.version), minorOf(current));
    if (lag <= maxKubeletSkew(current)) continue;
    notes.push({
      kind: 'pool-out-of-skew',
      pool: pool.name,
      kubelet: fmt(pool.version),
      controlPlane: fmt(current),
      message: `pool "${pool.name}": kubelet ${fmt(pool.version)} is ${lag} minors behind the control plane ${fmt(current)}, outside the skew policy; it moves to ${fmt(current)} first`,
    });
    // Without control-plane hops the pool's only move, to the target, already is that version.
    if (hops.length > 0) steps.push(movePool(pool, current, 'skew'));
  }

  let cp = current;
  for (const hop of hops) {
    for (const pool of pools) {
      const lagAfterHop = minorDistance(minorOf(pool.version), minorOf(hop));
      if (lagAfterHop > maxKubeletSkew(hop) && compareVersions(pool.version, cp) < 0) {
        notes.push({
          kind: 'pool-moved-for-skew',
          pool: pool.name,
          beforeHop: fmt(hop),
          message: `pool "${pool.name}": kubelet ${fmt(pool.version)} would be ${lagAfterHop} minors behind ${fmt(hop)} (${formatMinor(minorOf(hop))} allows ${maxKubeletSkew(hop)}), so it moves to ${fmt(cp)} before that hop`,
        });
        steps.push(movePool(pool, cp, 'skew'));
      }
    }
    steps.push({ kind: 'control-plane', from: fmt(cp), to: fmt(hop) });
    if (releaseClassification(catalog, hop, options.now) === 'expired' && compareVersions(hop, target) !== 0) {
      notes.push({
        kind: 'expired-hop',
        version: fmt(hop),
        message: `the control plane passes through ${fmt(hop)}, which is past its end of support`,
      });
    }
    cp = hop;
    if (strategy === 'follow' && compareVersions(hop, target) !== 0) {
      for (const pool of pools) if (compareVersions(pool.version, hop) < 0) steps.push(movePool(pool, hop, 'follow'));
    }
  }

  for (const pool of pools) {
    if (compareVersions(pool.version, target) < 0) {
      steps.push(movePool(pool, target, 'target'));
    } else if (compareVersions(pool.version, target) > 0) {
      notes.push({
        kind: 'pool-unchanged',
        pool: pool.name,
        kubelet: fmt(pool.version),
        message: `pool "${pool.name}": kubelet ${fmt(pool.version)} is already past the target patch; left as is`,
      });
    }
  }

  for (const pool of pools) {
    const skipped = hops.filter((hop) => !pool.visited.some((v) => compareVersions(v, hop) === 0));
    if (skipped.length === 0 || pool.visited.length < 2) continue;
    const kubeletPath = pool.visited.map(fmt);
    notes.push({
      kind: 'workers-skip-hops',
      pool: pool.name,
      skipped: skipped.map(fmt),
      kubeletPath,
      message: `pool "${pool.name}" skips control-plane hop${skipped.length > 1 ? 's' : ''} ${skipped.map(fmt).join(', ')}: its kubelet goes ${kubeletPath.join(' -> ')} within the skew policy`,
    });
  }
  return { steps, notes };
}

function checkDowngrade(
  catalog: Catalog,
  current: KubeVersion,
  target: KubeVersion,
  ids: { from: string; to: string },
): void {
  if (!sameMinor(minorOf(current), minorOf(target))) {
    throw new UpgradePathError(
      'KUP-PATH-002',
      `cannot downgrade ${fmt(current)} to ${fmt(target)}: a downgrade stays within minor ${formatMinor(minorOf(current))} and goes back one patch only`,
      ids,
    );
  }
  const previous = previousPatch(catalog, current);
  if (isPrerelease(target) || previous === undefined || compareVersions(parseVersion(previous.version), target) !== 0) {
    const allowed =
      previous === undefined ? `${fmt(current)} has no previous patch` : `only ${previous.version} is allowed`;
    throw new UpgradePathError(
      'KUP-PATH-003',
      `cannot downgrade ${fmt(current)} to ${fmt(target)}: downgrade goes back one patch only; ${allowed}`,
      ids,
    );
  }
}

function planDowngrade(
  current: KubeVersion,
  target: KubeVersion,
  pools: PlannedPool[],
): { steps: UpgradeStep[]; notes: PathNote[] } {
  const steps: UpgradeStep[] = [];
  const notes: PathNote[] = [];
  // Nodes first, the reverse of an upgrade, so no kubelet is ever ahead of the control plane it ends up with.
  for (const pool of pools) {
    if (compareVersions(pool.version, target) > 0) steps.push(movePool(pool, target, 'downgrade'));
    else
      notes.push({
        kind: 'pool-unchanged',
        pool: pool.name,
        kubelet: fmt(pool.version),
        message: `pool "${pool.name}": kubelet ${fmt(pool.version)} is not newer than ${fmt(target)}; left as is`,
      });
  }
  steps.push({ kind: 'control-plane', from: fmt(current), to: fmt(target) });
  return { steps, notes };
}

/**
 * Plans how to move a cluster from its current versions to a target.
 *
 * @param input - Current control-plane and pool versions, and the target.
 * @param catalog - The version catalog (see {@link defaultCatalog}).
 * @param options - `now` for classification, what to allow, and the worker strategy.
 * @returns The ordered steps and the notes to show; `kind: 'nothing-to-do'` when everything is at the target.
 * @throws {UpgradePathError} with a `KUP-PATH-*` code saying why the path is refused.
 */
export function planUpgradePath(input: PlanPathInput, catalog: Catalog, options: PlanPathOptions): UpgradePath {
  const workerStrategy = options.workerStrategy ?? 'minimal';
  const ids = { from: input.controlPlane, to: input.target };
  const { current, target, pools } = readPathInputs(input, catalog);
  const base = { from: fmt(current), to: fmt(target), workerStrategy };
  const direction = compareVersions(target, current);

  if (direction === 0 && pools.every((p) => compareVersions(p.version, target) >= 0)) {
    return { kind: 'nothing-to-do', ...base, steps: [], notes: [] };
  }
  if (direction < 0) checkDowngrade(catalog, current, target, ids);
  const classificationNotes = direction === 0 ? [] : checkTarget(catalog, current, target, options, ids);
  if (direction < 0) {
    const { steps, notes } = planDowngrade(current, target, pools);
    return { kind: 'downgrade', ...base, steps, notes: [...classificationNotes, ...notes] };
  }
  const { steps, notes } = planUpgrade(catalog, current, target, pools, workerStrategy, options, ids);
  return {
    kind: 'upgrade',
    ...base,
    steps,
    notes: [...classificationNotes, ...upgradeNotes(catalog, current, target), ...notes],
  };
}
