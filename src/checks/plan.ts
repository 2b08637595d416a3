/**
 * The plan the checks work against: the cluster's current version (from the snapshot), the target, and the path
 * the version planner lays out for the cluster's worker pools.
 *
 * @module
 */
import type { BatchPolicy } from '../rollout/batches.ts';
import type { Catalog, PoolInput, UpgradePath, WorkerStrategy } from '../versions/index.ts';
import {
  UpgradePathError,
  compareVersions,
  formatVersion,
  isKnownVersion,
  latestPatch,
  parseKubeletVersion,
  planUpgradePath,
  tryParseVersion,
} from '../versions/index.ts';
import { PrecheckError } from './errors.ts';
import type { ClusterSnapshot } from './snapshot-types.ts';
import type { CheckPhase, CheckPlan } from './types.ts';

/** Options of {@link planChecks}. */
export interface PlanChecksOptions {
  readonly target: string;
  readonly phase: CheckPhase;
  readonly catalog: Catalog;
  readonly batchPolicy: BatchPolicy;
  /** The day for release classification. */
  readonly now: Date;
  /** @default false */
  readonly allowPreview?: boolean;
  /** @default false */
  readonly allowExpired?: boolean;
  /** @default 'minimal' */
  readonly workerStrategy?: WorkerStrategy;
}

/** Planner codes that are about the target the caller asked for (bad input), not about the cluster. */
const TARGET_CODES = new Set(['KUP-PATH-002', 'KUP-PATH-003', 'KUP-PATH-004', 'KUP-PATH-005']);

/**
 * Checks the target and plans the path.
 *
 * @throws {PrecheckError} `KUP-PRECHECK-002` when the target is not a version, not in the catalog, or refused by
 * the planner (a downgrade too far, a preview or expired target not allowed).
 */
export function checkTarget(target: string, catalog: Catalog): string {
  const parsed = tryParseVersion(target);
  if (parsed === undefined) {
    throw new PrecheckError(
      'KUP-PRECHECK-002',
      `--to "${target}" is not a Kubernetes version (expected MAJOR.MINOR.PATCH, e.g. 1.30.4)`,
    );
  }
  if (!isKnownVersion(catalog, parsed)) {
    const minor = `${parsed.major}.${parsed.minor}`;
    const latest = latestPatch(catalog, minor);
    throw new PrecheckError(
      'KUP-PRECHECK-002',
      `--to ${formatVersion(parsed)} is not in the version catalog${latest ? ` (latest ${minor} patch: ${latest.version})` : ''}; update the catalog (kup catalog update) or pick a listed version (kup versions)`,
    );
  }
  return formatVersion(parsed);
}

/** The worker pools as the planner wants them: the oldest readable kubelet of each pool. */
export function poolInputs(snapshot: ClusterSnapshot): { pools: PoolInput[]; unreadable: string[] } {
  const oldest = new Map<string, string>();
  const unreadable: string[] = [];
  for (const node of snapshot.nodes) {
    if (node.role !== 'worker') continue;
    let version;
    try {
      version = parseKubeletVersion(node.kubeletVersion).version;
    } catch {
      unreadable.push(node.name);
      continue;
    }
    const known = oldest.get(node.pool);
    if (known === undefined || compareVersions(version, parseKubeletVersion(known).version) < 0)
      oldest.set(node.pool, node.kubeletVersion);
  }
  return { pools: [...oldest.entries()].map(([name, kubelet]) => ({ name, kubelet })), unreadable };
}

/** The plan for a run. */
export function planChecks(snapshot: ClusterSnapshot, options: PlanChecksOptions): CheckPlan {
  const to = checkTarget(options.target, options.catalog);
  const base = { to, batchPolicy: options.batchPolicy };
  const gitVersion = snapshot.gitVersion;
  let from = '';
  if (gitVersion !== undefined) {
    try {
      from = formatVersion(parseKubeletVersion(gitVersion).version);
    } catch {
      from = gitVersion;
    }
  }
  if (options.phase === 'postcheck') return { ...base, from };
  if (gitVersion === undefined) return { ...base, from, pathError: 'the API server did not report its version' };
  const { pools, unreadable } = poolInputs(snapshot);
  if (unreadable.length > 0) {
    return {
      ...base,
      from,
      pathError: `kubelet versions of ${unreadable.slice(0, 5).join(', ')}${unreadable.length > 5 ? ', ...' : ''} cannot be read`,
    };
  }
  let path: UpgradePath;
  try {
    path = planUpgradePath({ controlPlane: gitVersion, pools, target: to }, options.catalog, {
      now: options.now,
      ...(options.allowPreview !== undefined ? { allowPreview: options.allowPreview } : {}),
      ...(options.allowExpired !== undefined ? { allowExpired: options.allowExpired } : {}),
      ...(options.workerStrategy !== undefined ? { workerStrategy: options.workerStrategy } : {}),
    });
  } catch (err) {
    if (!(err instanceof UpgradePathError)) throw err;
    const hint =
      err.code === 'KUP-PATH-004' ? ' (--allow-preview)' : err.code === 'KUP-PATH-005' ? ' (--allow-expired)' : '';
    if (TARGET_CODES.has(err.code))
      throw new PrecheckError('KUP-PRECHECK-002', `--to ${to}: ${err.message}${hint}`, { cause: err });
    return { ...base, from, pathError: err.message };
  }
  return { ...base, from, path };
}
