/**
 * The check runner: reads the cluster once ({@link gatherSnapshot}), plans the path, runs every rule of the phase
 * on the snapshot and the plan, applies the operator's acknowledgements and returns the report. The same runner
 * does the prechecks and the post-upgrade validation (`phase: 'postcheck'`).
 *
 * `evaluateChecks` is the pure half (snapshot in, report out), for tests and for callers that hold a snapshot.
 *
 * @module
 */
import type { ClusterConnection } from '../kube-api/connect.ts';
import type { BatchPolicy } from '../rollout/batches.ts';
import { DEFAULT_BATCH_POLICY, formatBatchPolicy, parseBatchPolicy } from '../rollout/batches.ts';
import type { UpgradeStrategy } from '../rollout/plan-types.ts';
import type { Catalog, WorkerStrategy } from '../versions/index.ts';
import { defaultCatalog } from '../versions/index.ts';
import { applyAcknowledgements } from './acknowledge.ts';
import { PrecheckError } from './errors.ts';
import { checkTarget, planChecks } from './plan.ts';
import { rulesFor } from './rule-list.ts';
import type { GatherSnapshotOptions } from './snapshot.ts';
import { failingWorkloadKeys } from './rules/failing-pods.ts';
import { pendingWorkloadKeys } from './rules/pending-pods.ts';
import { cancelled, gatherSnapshot } from './snapshot.ts';
import type { ClusterSnapshot } from './snapshot-types.ts';
import type { Acknowledgement, CheckBaseline, CheckPhase, Finding, Report, RuleOutcome, Severity } from './types.ts';
import { SEVERITIES } from './types.ts';

/** Options of {@link evaluateChecks} and {@link runChecks}. */
export interface EvaluateChecksOptions {
  /** The target version (precheck), or the version the cluster should now run (postcheck). */
  readonly target: string;
  /** @default 'precheck' */
  readonly phase?: CheckPhase;
  /** @default defaultCatalog() */
  readonly catalog?: Catalog;
  /** Blockers the operator accepts for this run. @default none */
  readonly acknowledgements?: readonly Acknowledgement[];
  /** How pools are batched in the drain simulation: a policy or its text. @default exponential */
  readonly batchPolicy?: BatchPolicy | string;
  /** The clock (ms since the epoch). @default Date.now */
  readonly now?: () => number;
  /** Accept a preview target. @default false */
  readonly allowPreview?: boolean;
  /** Accept a target past its end of support. @default false */
  readonly allowExpired?: boolean;
  /** @default 'minimal' */
  readonly workerStrategy?: WorkerStrategy;
  /** The precheck's baseline, for the postcheck. */
  readonly baseline?: CheckBaseline;
  /**
   * Postcheck: nodes the run quarantined when their drain timed out (left cordoned and labelled, at their version,
   * on purpose). Where they are not at the target, that is a warning naming the quarantine, not a blocker.
   */
  readonly quarantined?: readonly string[];
  /**
   * Postcheck of a canary (`--canary`), mid-run: nodes the run has yet to move. They are not held to the target's
   * version or its runtime needs (the precheck judged them); every other rule sees them as usual.
   */
  readonly pending?: readonly string[];
  /**
   * Whether the drains keep all but one Ready of each workload with several replicas and no PodDisruptionBudget
   * (`--implicit-budget`): the `implicit-budget` rule names those workloads, as a warning when off. @default true
   */
  readonly implicitBudget?: boolean;
  /**
   * How worker nodes get the target (`--strategy`): in place they keep their runtime and kernel, so the
   * `node-runtime` rule blocks on what the target does not support; replaced, they boot a new image. @default 'replace'
   */
  readonly nodeStrategy?: UpgradeStrategy;
  /**
   * Nodes the run does not drain: control-plane nodes planned without a drain (nothing beyond static and DaemonSet
   * pods, or a provider whose control plane drains its own machines). Their pods are not drain refusals. @default none
   */
  readonly undrainedNodes?: readonly string[];
  /** The machine image worker replacements boot, by pool (`--image`); absent: the provider's image for the target. */
  readonly images?: Readonly<Record<string, string>>;
}

/** Options of {@link runChecks}. */
export interface RunChecksOptions extends EvaluateChecksOptions {
  /** Cancels the run. */
  readonly signal?: AbortSignal;
  /** The provider's versions, for what the API server does not say: see `GatherSnapshotOptions.providerVersions`. */
  readonly providerVersions?: GatherSnapshotOptions['providerVersions'];
}

const RANK: Record<Severity, number> = { blocker: 0, warning: 1, info: 2 };

function readPolicy(policy: BatchPolicy | string | undefined): BatchPolicy {
  if (policy === undefined) return DEFAULT_BATCH_POLICY;
  if (typeof policy !== 'string') return policy;
  try {
    return parseBatchPolicy(policy);
  } catch (err) {
    throw new PrecheckError('KUP-PRECHECK-003', `--batch-policy: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Runs the phase's rules on a snapshot. Pure but for the clock.
 *
 * @throws {PrecheckError} `KUP-PRECHECK-002` for an unusable target, `-003` for a bad batch policy.
 */
export function evaluateChecks(
  snapshot: ClusterSnapshot,
  options: EvaluateChecksOptions,
  timing?: { startedAt: number },
): Report {
  const now = options.now ?? Date.now;
  const startedAt = timing?.startedAt ?? now();
  const phase = options.phase ?? 'precheck';
  const catalog = options.catalog ?? defaultCatalog();
  const batchPolicy = readPolicy(options.batchPolicy);
  const plan = planChecks(snapshot, {
    target: options.target,
    phase,
    catalog,
    batchPolicy,
    now: new Date(now()),
    ...(options.allowPreview !== undefined ? { allowPreview: options.allowPreview } : {}),
    ...(options.allowExpired !== undefined ? { allowExpired: options.allowExpired } : {}),
    ...(options.workerStrategy !== undefined ? { workerStrategy: options.workerStrategy } : {}),
  });
  const input = {
    snapshot,
    plan,
    catalog,
    phase,
    now: now(),
    ...(options.baseline ? { baseline: options.baseline } : {}),
    ...(options.quarantined ? { quarantined: options.quarantined } : {}),
    ...(options.pending ? { pending: options.pending } : {}),
    ...(options.implicitBudget !== undefined ? { implicitBudget: options.implicitBudget } : {}),
    ...(options.nodeStrategy !== undefined ? { nodeStrategy: options.nodeStrategy } : {}),
    ...(options.images !== undefined ? { images: options.images } : {}),
    ...(options.undrainedNodes !== undefined ? { undrainedNodes: options.undrainedNodes } : {}),
  };
  const raw: Finding[] = [];
  const perRule = new Map<string, Finding[]>();
  for (const rule of rulesFor(phase)) {
    let found: readonly Finding[];
    try {
      found = rule.check(input);
    } catch (err) {
      // A rule that throws is a bug in kup, not a verdict on the cluster: say so, and let the others run.
      found = [
        {
          rule: rule.id,
          severity: 'warning',
          objects: [],
          message: `the ${rule.id} check failed: ${err instanceof Error ? err.message : String(err)}`,
          remediation:
            'Report this to the kup maintainers with the report attached; check this area by hand meanwhile.',
        },
      ];
    }
    raw.push(...found);
  }
  const { findings, outcomes } = applyAcknowledgements(raw, options.acknowledgements ?? []);
  for (const f of findings) perRule.set(f.rule, [...(perRule.get(f.rule) ?? []), f]);
  const rules: RuleOutcome[] = rulesFor(phase).map((rule) => {
    const list = perRule.get(rule.id) ?? [];
    const live = list.filter((f) => f.acknowledged === undefined);
    const worst = SEVERITIES.find((s) => live.some((f) => f.severity === s));
    return { id: rule.id, title: rule.title, status: worst ?? 'pass', findings: list.length };
  });
  // Blockers first, stable within a severity (rule order, then the rule's own order).
  const sorted = findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i)
    .map(({ f }) => f);
  return {
    phase,
    cluster: snapshot.cluster,
    server: snapshot.server,
    from: plan.from,
    to: plan.to,
    ...(plan.path ? { path: plan.path } : {}),
    batchPolicy: formatBatchPolicy(batchPolicy),
    findings: sorted,
    blockers: sorted.filter((f) => f.severity === 'blocker' && f.acknowledged === undefined),
    acknowledged: sorted.filter((f) => f.acknowledged !== undefined),
    acknowledgements: outcomes,
    rules,
    baseline: { pendingWorkloads: pendingWorkloadKeys(snapshot), failingWorkloads: failingWorkloadKeys(snapshot) },
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Math.max(0, now() - startedAt),
  };
}

/**
 * Reads the cluster and runs the phase's checks.
 *
 * @throws {PrecheckError} `KUP-PRECHECK-002` for an unusable target (checked before the cluster is read), `-003`
 * for a bad batch policy, `-004` when the signal aborts. Problems of the cluster are findings, never errors.
 */
export async function runChecks(conn: ClusterConnection, options: RunChecksOptions): Promise<Report> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  if (options.signal?.aborted) throw cancelled(options.signal);
  const catalog = options.catalog ?? defaultCatalog();
  checkTarget(options.target, catalog);
  readPolicy(options.batchPolicy);
  const snapshot = await gatherSnapshot(conn, {
    ...(options.signal ? { signal: options.signal } : {}),
    now,
    removedApis: catalog.removedApis,
    ...(options.providerVersions ? { providerVersions: options.providerVersions } : {}),
  });
  return evaluateChecks(snapshot, { ...options, catalog }, { startedAt });
}
