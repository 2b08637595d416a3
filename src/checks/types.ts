/**
 * The shapes of prechecks and post-upgrade validation: findings, rules, acknowledgements and the report. Pure data:
 * a report survives `JSON.stringify` / `JSON.parse`.
 *
 * @module
 */
import type { BatchPolicy } from '../rollout/batches.ts';
import type { UpgradeStrategy } from '../rollout/plan-types.ts';
import type { Catalog, UpgradePath } from '../versions/index.ts';
import type { ClusterSnapshot } from './snapshot-types.ts';

/** How much a finding matters: a blocker stops the upgrade unless acknowledged. */
export type Severity = 'blocker' | 'warning' | 'info';

/** Severities, most serious first. */
export const SEVERITIES: readonly Severity[] = Object.freeze(['blocker', 'warning', 'info']);

/** Before the upgrade (`precheck`) or after it (`postcheck`). */
export type CheckPhase = 'precheck' | 'postcheck';

/** Every rule's stable id; a finding names the rule that made it, acknowledgements name rules. */
export const RULE_IDS = [
  'api-health',
  'control-plane',
  'etcd',
  'nodes-ready',
  'system-pods',
  'stuck-terminating',
  'upgrade-path',
  'version-skew',
  'deprecated-apis',
  'pdb-blockers',
  'single-replica',
  'implicit-budget',
  'drain-refusals',
  'pending-pvcs',
  'cordoned-nodes',
  'drain-simulation',
  'component-compatibility',
  'upgrade-notes',
  'versions-at-target',
  'pending-pods',
  'pdb-health',
  'node-runtime',
  'failing-pods',
  'infrastructure',
] as const;

/** A rule's stable id. */
export type RuleId = (typeof RULE_IDS)[number];

/** True when `text` is a rule id. */
export function isRuleId(text: string): text is RuleId {
  return (RULE_IDS as readonly string[]).includes(text);
}

/** A Kubernetes object a finding is about. */
export interface ObjectRef {
  /** Kind, as the API names it (`Node`, `Deployment`, `PodDisruptionBudget`). */
  readonly kind: string;
  /** Absent for cluster-scoped objects. */
  readonly namespace?: string;
  readonly name: string;
}

/**
 * Where the evidence of a deprecated-API finding comes from: the `kubectl.kubernetes.io/last-applied-configuration`
 * annotation of stored objects (what someone applied), or the API server's `apiserver_requested_deprecated_apis`
 * metric (what clients still call).
 */
export type FindingSource = 'last-applied' | 'live-metric';

/** One thing a rule found. */
export interface Finding {
  readonly rule: RuleId;
  readonly severity: Severity;
  /** The objects at fault, most relevant first; may be empty for cluster-wide findings. */
  readonly objects: readonly ObjectRef[];
  /** One or two sentences for people, naming the objects and the numbers. */
  readonly message: string;
  /** What to do about it. */
  readonly remediation: string;
  /** Where the evidence came from, when a rule has several sources. */
  readonly sources?: readonly FindingSource[];
  /** Set when an acknowledgement of this run covers the blocker. */
  readonly acknowledged?: { readonly reason: string };
}

/**
 * An operator's acknowledgement of blockers for one run: every blocker of `rule` (about `object`, when given) is
 * kept in the report, marked acknowledged with the reason, and no longer stops the run.
 */
export interface Acknowledgement {
  readonly rule: RuleId;
  /**
   * The object, as `Kind/namespace/name`, `namespace/name`, `Kind/name` or `name` (kind is case-insensitive).
   * Absent: every blocker of the rule.
   */
  readonly object?: string;
  /** Why it is acceptable; recorded in the report. */
  readonly reason: string;
}

/** What the checks know about the planned upgrade. */
export interface CheckPlan {
  /** Current control-plane version (the oldest kube-apiserver, core version). */
  readonly from: string;
  readonly to: string;
  /** The planned path; absent in postcheck or when it could not be planned (see the `upgrade-path` rule). */
  readonly path?: UpgradePath;
  /** Why no path could be planned, as the planner said. */
  readonly pathError?: string;
  /** How worker pools are batched. */
  readonly batchPolicy: BatchPolicy;
}

/** What every rule is given: the snapshot of the cluster and the plan. Rules are pure functions of it. */
export interface RuleInput {
  readonly snapshot: ClusterSnapshot;
  readonly plan: CheckPlan;
  readonly catalog: Catalog;
  readonly phase: CheckPhase;
  /** The run's clock reading (ms since the epoch), for ages. */
  readonly now: number;
  /** What the precheck saw, for postcheck comparisons. */
  readonly baseline?: CheckBaseline;
  /** Nodes the run quarantined (postcheck): see `EvaluateChecksOptions.quarantined` in runner.ts. */
  readonly quarantined?: readonly string[];
  /** Nodes a canary's postcheck finds the run has yet to move: see `EvaluateChecksOptions.pending` in runner.ts. */
  readonly pending?: readonly string[];
  /** Whether the run's drains keep their implicit budgets: see `EvaluateChecksOptions.implicitBudget`. @default true */
  readonly implicitBudget?: boolean;
  /** How worker nodes get the target: see `EvaluateChecksOptions.nodeStrategy`. @default 'replace' */
  readonly nodeStrategy?: UpgradeStrategy;
  /** The machine image replacements boot, by pool: see `EvaluateChecksOptions.images`. */
  readonly images?: Readonly<Record<string, string>>;
  /** Nodes the run does not drain: see `EvaluateChecksOptions.undrainedNodes`. */
  readonly undrainedNodes?: readonly string[];
}

/** One check. */
export interface Rule {
  readonly id: RuleId;
  /** Short title for the report. */
  readonly title: string;
  /** The phases the rule runs in. */
  readonly phases: readonly CheckPhase[];
  check(input: RuleInput): readonly Finding[];
}

/** What a precheck report remembers for the postcheck: workloads that already had Pending or failing pods. */
export interface CheckBaseline {
  /** `Kind/namespace/name` of workloads with Pending pods before the upgrade. */
  readonly pendingWorkloads: readonly string[];
  /** `Kind/namespace/name` of workloads with crash-looping or image-pull-failing pods before the upgrade. */
  readonly failingWorkloads?: readonly string[];
}

/** How one rule came out. */
export interface RuleOutcome {
  readonly id: RuleId;
  readonly title: string;
  /** The worst unacknowledged severity found, `pass` when nothing was found. */
  readonly status: 'pass' | Severity;
  readonly findings: number;
}

/** An acknowledgement as the run used it. */
export interface AcknowledgementOutcome extends Acknowledgement {
  /** How many blockers it covered; 0 means it matched nothing (a typo, or the problem is gone). */
  readonly matched: number;
}

/** The result of one precheck or postcheck run. */
export interface Report {
  readonly phase: CheckPhase;
  /** Cluster name (kubeconfig context's cluster). */
  readonly cluster: string;
  readonly server: string;
  readonly from: string;
  readonly to: string;
  readonly path?: UpgradePath;
  /** `exponential`, `fixed:N` or `percent:P`. */
  readonly batchPolicy: string;
  /** Every finding, blockers first. */
  readonly findings: readonly Finding[];
  /** Blockers not acknowledged: the run may not go on while there is one. */
  readonly blockers: readonly Finding[];
  /** Blockers acknowledged for this run, with the reason. */
  readonly acknowledged: readonly Finding[];
  readonly acknowledgements: readonly AcknowledgementOutcome[];
  readonly rules: readonly RuleOutcome[];
  readonly baseline: CheckBaseline;
  /** ISO time the run started. */
  readonly startedAt: string;
  readonly durationMs: number;
}
