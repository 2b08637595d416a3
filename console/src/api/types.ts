/**
 * The shapes the console reads from kup's REST API (`/api/v1`, issue 17, its OpenAPI document at
 * `/api/v1/openapi.json`): the console's views (`/api/v1/console/...`, one request per page) and the ordinary routes
 * it writes through (plans, runs, commands, prechecks, events). Only the fields the console shows are named.
 *
 * @module
 */

/** Roles of a token, weakest first. */
export type Role = 'viewer' | 'operator' | 'admin';

/** How the catalog classifies a Kubernetes version (Gardener's classifications). */
export type Classification = 'preview' | 'supported' | 'deprecated' | 'expired' | 'unknown';

/** Who the token belongs to (`GET /console/session`). */
export interface Identity {
  readonly name: string;
  readonly role: Role;
}

/** What the catalog says of a version. */
export interface VersionFacts {
  readonly classification: Classification;
  /** YYYY-MM-DD. */
  readonly endOfSupport: string | null;
  readonly releaseNotes: string | null;
  readonly upgradeNotes: readonly string[];
}

/** A version the cluster page and the dialog show, with why it is not offered when it is not. */
export interface VersionOption extends VersionFacts {
  readonly version: string;
  readonly eligible: boolean;
  readonly reason: string | null;
  readonly kind: 'patch' | 'next-minor' | 'downgrade' | 'withheld';
}

/** A pool of worker nodes. */
export interface PoolSummary {
  readonly name: string;
  readonly nodes: number;
  readonly kubeletVersions: readonly string[];
  readonly image: string | null;
  /** A newer machine image the catalog has for the pool. */
  readonly imageUpgrade: string | null;
}

/** The run a cluster is going through, as the fleet shows it. */
export interface ActiveRunSummary {
  readonly id: string;
  readonly phase: RunPhase;
  /** 0-100. */
  readonly percent: number;
}

/** Health of a cluster, as kup last saw it. */
export type Health = 'healthy' | 'unreachable';

/** One cluster of the fleet (`GET /console/fleet`). */
export interface ClusterSummary extends VersionFacts {
  readonly name: string;
  readonly provider: string;
  readonly server: string | null;
  /** null while the cluster does not answer. */
  readonly version: string | null;
  readonly health: Health;
  readonly healthMessage: string | null;
  readonly pools: readonly PoolSummary[];
  /** Versions it can be upgraded to, oldest first. */
  readonly availableUpgrades: readonly string[];
  readonly activeRun: ActiveRunSummary | null;
}

/** A node of the cluster page. */
export interface NodeSummary {
  readonly name: string;
  readonly pool: string | null;
  readonly controlPlane: boolean;
  readonly kubeletVersion: string;
  readonly image: string | null;
  readonly ready: boolean;
  readonly cordoned: boolean;
}

/** A run in a cluster's history. */
export interface RunHistoryItem {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly kind: 'version' | 'image';
  readonly phase: RunPhase;
  readonly trigger: 'manual' | 'automatic';
  readonly createdAt: number;
  readonly endedAt: number | null;
}

/** One cluster (`GET /console/clusters/{name}`). */
export interface ClusterDetail extends ClusterSummary {
  readonly nodes: readonly NodeSummary[];
  readonly nodesError: string | null;
  readonly versions: readonly VersionOption[];
  readonly versionsHint: string;
  readonly runs: readonly RunHistoryItem[];
}

/** An object a finding names. */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** A precheck finding. */
export interface Finding {
  readonly rule: string;
  readonly severity: 'blocker' | 'warning' | 'info';
  readonly message: string;
  readonly objects: readonly ObjectRef[];
  readonly remediation: string;
  /** Set when an acknowledgement covers the blocker. */
  readonly acknowledged?: { readonly reason: string };
}

/** A precheck report (kup's PrecheckReport document). */
export interface PrecheckReport {
  readonly to: string;
  readonly from: string;
  /** ISO time the checks started. */
  readonly startedAt: string;
  readonly findings: readonly Finding[];
  readonly blockers: readonly Finding[];
  readonly path?: {
    readonly steps: readonly {
      readonly kind: string;
      readonly from?: string;
      readonly to?: string;
      readonly pool?: string;
    }[];
  };
}

/** A precheck kept by the service. */
export interface StoredPrecheck {
  readonly id: string;
  readonly target: string;
  readonly createdAt: string;
  readonly report: PrecheckReport;
}

/** The plan of a run (kup's RolloutPlan), as far as the dialog shows it. */
export interface Plan {
  readonly from: string;
  readonly to: string;
  readonly kind: 'version' | 'image';
  readonly expectedDurationMs: number;
  readonly pointOfNoReturn: { readonly key: string; readonly node: string; readonly message: string } | null;
  readonly notes: readonly string[];
  readonly phases: readonly {
    readonly key: string;
    readonly kind: string;
    readonly pool?: string;
    readonly batches: readonly {
      readonly key: string;
      readonly steps: readonly { readonly key: string; readonly node?: string }[];
    }[];
  }[];
}

/** `POST /clusters/{name}/plans`. */
export interface PlanResponse {
  readonly plan: Plan;
  readonly text: string;
  readonly precheck?: PrecheckReport;
  readonly blocked: boolean;
}

/** Phases of a run (kup's run state machine). */
export type RunPhase =
  | 'pending'
  | 'prechecking'
  | 'snapshotting'
  | 'upgrading-control-plane'
  | 'upgrading-pools'
  | 'validating'
  | 'succeeded'
  | 'paused'
  | 'cancelling'
  | 'cancelled'
  | 'failed'
  | 'rolling-back'
  | 'rolled-back';

/** What caused a pause: the step, node, pod and PDB. */
export interface FailureCause {
  readonly key?: string;
  readonly action?: string;
  readonly node?: string;
  readonly pool?: string;
  readonly pod?: string;
  readonly pdb?: string;
  readonly pods?: readonly { readonly pod: string; readonly pdb?: string; readonly reason?: string }[];
  readonly code?: string;
  readonly message: string;
}

/** The run's status, a union on `phase` in the engine. */
export interface RunStatus {
  readonly phase: RunPhase;
  readonly reason?: string;
  readonly message?: string;
  readonly cause?: FailureCause;
  readonly at?: number;
}

/** Progress as ACK shows it. */
export interface RunProgress {
  readonly phase: RunPhase;
  readonly controlPlane: {
    readonly i: number;
    readonly n: number;
    readonly hop: number;
    readonly hops: number;
    readonly to: string | null;
  };
  readonly pools: readonly {
    readonly name: string;
    readonly upgraded: number;
    readonly total: number;
    readonly currentBatch: number;
    readonly batches: number;
    readonly to: string;
  }[];
  readonly eta: { readonly remainingMs: number; readonly finishesAt: number | null };
}

/** The operator commands the run's state machine takes now. */
export interface AllowedActions {
  readonly pause: boolean;
  readonly resume: boolean;
  readonly cancel: boolean;
  readonly rollback: boolean;
}

/** Where one node stands in a run (Rancher's Active -> Cordoned -> Active). */
export type NodeRunState =
  'waiting' | 'cordoned' | 'draining' | 'replacing' | 'ready' | 'done' | 'quarantined' | 'failed';

/** A run (`GET /console/runs/{id}`). */
export interface Run {
  readonly id: string;
  readonly cluster: string;
  readonly from: string;
  readonly to: string;
  readonly kind: 'version' | 'image';
  readonly percent: number;
  readonly allowed: AllowedActions;
  readonly nodes: readonly {
    readonly node: string;
    readonly pool?: string;
    readonly state: NodeRunState;
    readonly action?: string;
    readonly newNode?: string;
  }[];
  readonly progress: RunProgress;
  readonly status: RunStatus;
  readonly createdAt: number;
  readonly endedAt: number | null;
  readonly pointOfNoReturn: string | null;
  readonly expectedDurationMs: number;
}

/** One event of a run's log, as the event stream sends it (`at` read into ms). */
export interface RunEvent {
  /** Global id, monotonic across runs (the SSE `id:`). */
  readonly id: number;
  readonly runId: string;
  readonly at: number;
  readonly step: string;
  readonly node?: string;
  readonly outcome: string;
  readonly message: string;
  readonly data?: { readonly action?: string; readonly [key: string]: unknown };
}

/** A snapshot a run took. */
export interface Snapshot {
  readonly id: string;
  readonly takenAt: string;
  readonly run: string;
  readonly runPhase: string;
  readonly target: string;
}

/** `kup upgrade`'s options (`POST /runs`, `POST /clusters/{name}/plans`). */
export interface UpgradeOptions {
  readonly to?: string;
  readonly image?: string;
  readonly poolOptions?: {
    /** `exponential`, `fixed:N` or `percent:P`. */
    readonly batchPolicy?: string;
    readonly strategy?: 'replace' | 'in-place';
    readonly maxSurge?: number;
  };
  readonly acknowledgements?: readonly { readonly rule: string; readonly object?: string; readonly reason: string }[];
}

/** The error envelope of every 4xx/5xx. */
export interface ErrorEnvelope {
  readonly error: {
    readonly code: string;
    readonly kind: string;
    readonly message: string;
    readonly field?: string;
    readonly details?: Record<string, unknown>;
  };
}
