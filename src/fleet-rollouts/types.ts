/**
 * The data of a fleet rollout: one upgrade carried across many clusters in ordered stages (dev, then staging, then
 * prod), each stage a set of clusters upgraded at most `maxConcurrency` at a time, watched for a soak time after its
 * last cluster, and optionally waiting for an approval before it starts. Plain JSON: persisted after every transition
 * like a run's state.
 *
 * @module
 */

/** Which clusters a stage takes. A cluster is in the first stage that names or selects it. */
export interface StageSelector {
  /** Clusters by name. */
  readonly names?: readonly string[];
  /** Clusters whose labels match all of these (`matchLabels`). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** One stage as the operator writes it. */
export interface StageSpec {
  readonly name: string;
  readonly clusters: StageSelector;
  /** Clusters upgraded at once. @default 1 */
  readonly maxConcurrency?: number;
  /** Health-gated soak after the stage's last cluster finished, minutes. @default 0 */
  readonly soakMinutes?: number;
  /** The stage waits for `kup rollout approve` before it starts. @default false */
  readonly approval?: boolean;
}

/** What every cluster of the rollout is upgraded to. */
export interface RolloutTarget {
  /** Kubernetes version. */
  readonly to?: string;
  /** Machine image for the worker pools. */
  readonly image?: string;
}

/** A rollout as the operator asks for it. */
export interface RolloutSpec {
  readonly name: string;
  readonly target: RolloutTarget;
  readonly stages: readonly StageSpec[];
}

/** A registered cluster as stage selection sees it. */
export interface ClusterLabels {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Where one cluster of the rollout stands. */
export type ClusterPhase = 'pending' | 'starting' | 'running' | 'paused' | 'succeeded' | 'failed';

/** One cluster's progress. */
export interface ClusterProgress {
  readonly cluster: string;
  readonly stage: number;
  readonly phase: ClusterPhase;
  /** Its run, once created. */
  readonly runId?: string;
  /** Attempts to create a run (a resume after a failure creates another). */
  readonly attempt: number;
  /** Why it paused or failed. */
  readonly message?: string;
  readonly startedAt?: number;
  readonly finishedAt?: number;
}

/** What one cluster looked like before its stage started: soak gates compare against it. */
export interface HealthBaseline {
  /** Workloads (`Kind/namespace/name`, or the pod's own `namespace/name`) with crash-looping pods. */
  readonly crashLooping: readonly string[];
  /** Workloads with Pending pods. */
  readonly pending: readonly string[];
}

/** Where a stage stands. */
export type StagePhase = 'pending' | 'awaiting-approval' | 'baselining' | 'running' | 'soaking' | 'succeeded';

/** One stage with its clusters resolved. */
export interface StageState {
  readonly name: string;
  readonly clusters: readonly string[];
  readonly maxConcurrency: number;
  readonly soakMs: number;
  readonly approval: boolean;
  readonly phase: StagePhase;
  /** Who approved it, and when. */
  readonly approved?: { readonly by: string; readonly at: number };
  readonly baselines?: Readonly<Record<string, HealthBaseline>>;
  /** While soaking: when the soak ends. */
  readonly soakUntil?: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
}

/** A soak health signal. */
export type HealthSignal = 'crash-looping-pods' | 'pending-pods' | 'pdb-unhealthy' | 'node-not-ready';

/** Why a rollout is paused. */
export type RolloutPauseReason =
  /** The operator asked. */
  | 'requested'
  /** A cluster's run failed, or could not be created. */
  | 'cluster-run-failed'
  /** A cluster's run paused (its own failure, or its operator): the rollout waits with it. */
  | 'cluster-run-paused'
  /** A soak health gate failed. */
  | 'health-gate';

/** What paused a rollout: the cluster, its run, the gate's signal and what it saw. */
export interface RolloutCause {
  readonly cluster?: string;
  readonly runId?: string;
  readonly signal?: HealthSignal;
  /** The objects behind a failing gate (pods, PDBs, nodes). */
  readonly objects?: readonly string[];
  readonly message: string;
}

/** The rollout's status: a discriminated union on `phase`. */
export type RolloutStatus =
  | { readonly phase: 'pending' }
  | { readonly phase: 'running' }
  | {
      readonly phase: 'paused';
      readonly reason: RolloutPauseReason;
      readonly message: string;
      readonly pausedAt: number;
      readonly cause?: RolloutCause;
    }
  | { readonly phase: 'succeeded'; readonly at: number }
  | {
      readonly phase: 'cancelled';
      readonly at: number;
      /** Cluster runs that were still going: they finish (or are cancelled) on their own. */
      readonly runsLeft?: readonly string[];
    };

/** One of the rollout status phases. */
export type RolloutPhase = RolloutStatus['phase'];

/** The whole state of a rollout. */
export interface RolloutState {
  readonly schema: 1;
  readonly id: string;
  readonly name: string;
  readonly target: RolloutTarget;
  readonly stages: readonly StageState[];
  /** Index of the stage being worked on. */
  readonly cursor: number;
  readonly status: RolloutStatus;
  readonly clusters: Readonly<Record<string, ClusterProgress>>;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Sequence number of the last event emitted. */
  readonly seq: number;
}

/** What a cluster's run did, as the driver reports it. */
export type ClusterRunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'rolled-back';

/** What the rollout is told. */
export type RolloutEvent =
  | { readonly type: 'started' }
  | {
      readonly type: 'baselines-recorded';
      readonly stage: number;
      readonly baselines: Readonly<Record<string, HealthBaseline>>;
    }
  | { readonly type: 'cluster-run-created'; readonly cluster: string; readonly runId: string }
  /** The run could not be created (busy cluster, refused path, unreachable cluster). */
  | { readonly type: 'cluster-run-refused'; readonly cluster: string; readonly message: string }
  | { readonly type: 'cluster-run-paused'; readonly cluster: string; readonly runId: string; readonly message: string }
  | { readonly type: 'cluster-run-resumed'; readonly cluster: string; readonly runId: string }
  | {
      readonly type: 'cluster-run-finished';
      readonly cluster: string;
      readonly runId: string;
      readonly outcome: ClusterRunOutcome;
      readonly message?: string;
    }
  | {
      readonly type: 'gate-failed';
      readonly stage: number;
      readonly cluster: string;
      readonly signal: HealthSignal;
      readonly objects: readonly string[];
      readonly message: string;
    }
  | { readonly type: 'soak-elapsed'; readonly stage: number }
  | { readonly type: 'approved'; readonly stage: number; readonly by: string }
  | { readonly type: 'pause-requested'; readonly message?: string }
  | { readonly type: 'resume-requested' }
  | { readonly type: 'cancel-requested' };

/** What happened, for the rollout's event log. */
export type RolloutLogOutcome =
  | 'started'
  | 'stage-started'
  | 'awaiting-approval'
  | 'approved'
  | 'cluster-started'
  | 'cluster-succeeded'
  | 'cluster-failed'
  | 'cluster-paused'
  | 'cluster-resumed'
  | 'soaking'
  | 'gate-failed'
  | 'stage-succeeded'
  | 'paused'
  | 'resumed'
  | 'succeeded'
  | 'cancelled';

/** One entry of the rollout's event log. */
export interface RolloutLogEntry {
  readonly seq: number;
  readonly at: number;
  readonly outcome: RolloutLogOutcome;
  readonly stage?: string;
  readonly cluster?: string;
  readonly message: string;
}

/** What the driver performs; it reports back with the events named. */
export type RolloutEffect =
  /** Read each cluster's health before its stage starts; report `baselines-recorded`. */
  | { readonly type: 'record-baselines'; readonly stage: number; readonly clusters: readonly string[] }
  /**
   * Create (and start) a run upgrading `cluster` to the target; report `cluster-run-created` or `-refused`, then the
   * run's pauses and end. `idempotencyKey` names the attempt: the same key twice makes one run.
   */
  | {
      readonly type: 'start-cluster-run';
      readonly cluster: string;
      readonly target: RolloutTarget;
      readonly idempotencyKey: string;
    }
  /** Watch the stage's clusters against their baselines until `until`; report `gate-failed` or `soak-elapsed`. */
  | {
      readonly type: 'soak';
      readonly stage: number;
      readonly clusters: readonly string[];
      readonly until: number;
      readonly baselines: Readonly<Record<string, HealthBaseline>>;
    }
  /** A record for the rollout's log (and the webhooks): write it with the state. */
  | { readonly type: 'emit-event'; readonly entry: RolloutLogEntry };

/** What the rollout transition returns. */
export interface RolloutTransitionResult {
  readonly state: RolloutState;
  readonly effects: readonly RolloutEffect[];
}
