/**
 * The shapes the console reads from kup's REST API (`/api/v1`, issue 17), as its OpenAPI document describes them.
 * Only the fields the console shows are named; the server may send more.
 *
 * @module
 */

/** Roles of a token, weakest first. */
export type Role = 'viewer' | 'operator' | 'admin';

/** How the catalog classifies a Kubernetes version (Gardener's classifications). */
export type Classification = 'preview' | 'supported' | 'deprecated' | 'expired';

/** Who the token belongs to. */
export interface Identity {
  readonly name: string;
  readonly role: Role;
}

/** A version the cluster could move to, with why it can't when it can't. */
export interface VersionOption {
  readonly version: string;
  readonly classification: Classification;
  /** ISO date. */
  readonly endOfSupport?: string;
  readonly eligible: boolean;
  /** Why the version is not offered (a minor skipped, a downgrade of more than one patch...). */
  readonly reason?: string;
  /** Every hop from the current version, the target last. */
  readonly path?: readonly string[];
  readonly releaseNotes?: string;
}

/** A node of a pool. */
export interface NodeSummary {
  readonly name: string;
  readonly kubeletVersion: string;
  readonly image?: string;
  readonly ready: boolean;
  readonly cordoned: boolean;
  readonly controlPlane?: boolean;
}

/** A pool of worker nodes. */
export interface PoolSummary {
  readonly name: string;
  readonly kubeletVersions: readonly string[];
  readonly image?: string;
  /** A newer machine image exists for the pool. */
  readonly imageUpgrade?: string;
  readonly nodes: number;
  readonly readyNodes: number;
}

/** The run a cluster is going through, as the fleet shows it. */
export interface ActiveRunSummary {
  readonly id: string;
  readonly phase: RunPhase;
  /** 0-100. */
  readonly percent: number;
}

/** Health of a cluster, as kup last saw it. */
export type Health = 'healthy' | 'degraded' | 'unreachable' | 'unknown';

/** One cluster of the fleet. */
export interface ClusterSummary {
  readonly name: string;
  readonly provider?: string;
  readonly server?: string;
  readonly version: string;
  readonly classification: Classification;
  readonly endOfSupport?: string;
  readonly health: Health;
  readonly pools: readonly PoolSummary[];
  /** Versions the cluster could be upgraded to, newest last. */
  readonly availableUpgrades: readonly string[];
  readonly activeRun?: ActiveRunSummary | null;
}

/** A cluster with its nodes. */
export interface ClusterDetail extends ClusterSummary {
  readonly nodes: readonly NodeSummary[];
}

/** A precheck finding. */
export interface Finding {
  readonly rule: string;
  readonly severity: 'blocker' | 'warning' | 'info';
  readonly message: string;
  readonly objects: readonly string[];
  readonly remediation?: string;
  /** Set when a blocker was acknowledged for a run. */
  readonly acknowledgedReason?: string;
}

/** A precheck report. */
export interface PrecheckReport {
  readonly id: string;
  readonly cluster: string;
  readonly target: string;
  /** ms since the epoch. */
  readonly at: number;
  readonly findings: readonly Finding[];
}

/** One hop of a plan, or a pool's move. */
export interface PlanSummary {
  readonly path: readonly string[];
  /** Expected duration, ms. */
  readonly expectedMs: number;
  /** The step after which the run can no longer be rolled back without a snapshot restore. */
  readonly pointOfNoReturn?: string;
  readonly steps: readonly { readonly key: string; readonly node?: string; readonly actions: readonly string[] }[];
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

/** The run's status, a union on `phase`. */
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
  readonly status: RunStatus;
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

/** The operator commands the engine accepts in the run's present state. */
export interface AllowedActions {
  readonly pause: boolean;
  readonly resume: boolean;
  readonly cancel: boolean;
  readonly rollback: boolean;
}

/** Where one node stands in a run (Rancher's Active -> Cordoned -> Active). */
export type NodeRunState = 'waiting' | 'cordoned' | 'draining' | 'replacing' | 'ready' | 'done' | 'failed';

/** A run. */
export interface Run {
  readonly id: string;
  readonly cluster: string;
  readonly from: string;
  readonly to: string;
  readonly trigger: 'manual' | 'automatic';
  readonly createdAt: number;
  readonly endedAt?: number | null;
  readonly status: RunStatus;
  readonly progress: RunProgress;
  readonly allowed: AllowedActions;
  readonly percent: number;
  readonly nodes?: readonly { readonly name: string; readonly pool?: string; readonly state: NodeRunState }[];
}

/** One event of a run's log, as the event stream sends it. */
export interface RunEvent {
  /** Global id, monotonic across runs (the SSE `id:`). */
  readonly id: number;
  readonly runId: string;
  readonly cluster?: string;
  readonly at: number;
  readonly step: string;
  readonly node?: string;
  readonly outcome: string;
  readonly message: string;
  readonly data?: { readonly action?: string; readonly [key: string]: unknown };
}

/** A snapshot kup took. */
export interface Snapshot {
  readonly name: string;
  readonly at: number;
  readonly version: string;
  readonly runId?: string;
}

/** Options of a new run: the fields of `kup upgrade`. */
export interface CreateRunRequest {
  readonly cluster: string;
  readonly to?: string;
  readonly image?: string;
  readonly strategy?: 'in-place' | 'replace';
  readonly maxSurge?: number;
  readonly batchPolicy?: 'one' | 'doubling';
  readonly acknowledge?: readonly { readonly rule: string; readonly reason: string }[];
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

/** Ready pods of one PDB's workload through a run, with the PDB's floor (`status.desiredHealthy`). */
export interface AvailabilitySeries {
  /** `namespace/name` of the PodDisruptionBudget. */
  readonly pdb: string;
  readonly points: readonly { readonly at: number; readonly healthy: number; readonly floor: number }[];
}
