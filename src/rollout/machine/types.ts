/**
 * The data of the run state machine: its state (persisted after every transition), the events it takes and the
 * effects it asks the executor to perform. All plain JSON: a state read back from storage is the state that was
 * written (see the rehydration test).
 *
 * @module
 */
import type { ActionType, NodeTarget, RolloutPlan, ComponentMove, UpgradeStrategy } from '../plan-types.ts';

// ---- options -------------------------------------------------------------------------------------------------------

/** What to do when a node's drain times out (AKS's choice of behaviours). */
export type DrainTimeoutPolicy =
  /** Pause the run, naming the pods and PDBs that blocked; resume retries the drain. */
  | 'pause'
  /** Leave a worker node cordoned, label it, and go on without it (a control-plane node's drain pauses instead). */
  | 'quarantine'
  /** Drain again deleting pods past their PDBs (recorded in the run's events). */
  | 'force';

/** Options of one run. */
export interface RunOptions {
  /** @default 'pause' */
  readonly drainTimeoutPolicy?: DrainTimeoutPolicy;
  /** A run paused longer than this ends (failed). @default 15 days (ACK) */
  readonly maxPauseMs?: number;
  /** Automatic retries of a step that failed with a retryable error, before the run pauses. @default 2 */
  readonly maxAutoRetries?: number;
  /** First automatic retry delay; doubles each time. @default 5000 */
  readonly retryBaseDelayMs?: number;
  /** Longest automatic retry delay. @default 60000 */
  readonly retryMaxDelayMs?: number;
  /** Label put on a quarantined node (value `true`). @default 'kup.dev/quarantined' */
  readonly quarantineLabel?: string;
  /**
   * Under the `quarantine` policy, how many nodes the run may leave quarantined (AKS's maxBlockedNodes): a drain that
   * times out past it pauses the run, naming every blocked node, pod and PDB. `null`: no bound.
   * @default null
   */
  readonly maxBlockedNodes?: number | null;
}

/** {@link RunOptions} with every default filled in, as the state keeps them. */
export type ResolvedRunOptions = Required<RunOptions>;

// ---- status --------------------------------------------------------------------------------------------------------

/** Statuses in which the run is doing something. */
export type ActivePhase =
  'prechecking' | 'snapshotting' | 'upgrading-control-plane' | 'upgrading-pools' | 'validating' | 'rolling-back';

/** Why a run is paused. */
export type PauseReason =
  /** The operator asked. */
  | 'requested'
  /** A step failed (after its automatic retries). */
  | 'step-failed'
  /** A drain timed out and the policy is `pause`. */
  | 'drain-timed-out'
  /** The cluster's API server did not answer for longer than the run's outage limit. */
  | 'cluster-unreachable'
  /**
   * An automatic run reached the end of its maintenance window: the started steps finish, nothing new starts, and
   * the scheduler resumes it in the next window. Such a pause never counts against `maxPauseMs`: the run waits for
   * its window, not for an operator.
   */
  | 'window-closed';

/** Why a run failed for good. */
export type FailureCode = 'precheck-failed' | 'pause-expired';

/** A pod that kept a drain from finishing, and the PodDisruptionBudget holding it when there is one. */
export interface BlockedPod {
  /** `namespace/name`. */
  readonly pod: string;
  /** `namespace/name` of the PDB. */
  readonly pdb?: string;
  readonly reason?: string;
}

/** What caused a pause or a failure: which step, node, pod, PDB. */
export interface FailureCause {
  readonly key?: string;
  readonly action?: ActionType;
  readonly node?: string;
  readonly pool?: string;
  /** `namespace/name`. */
  readonly pod?: string;
  /** `namespace/name`. */
  readonly pdb?: string;
  readonly pods?: readonly BlockedPod[];
  /** The error's stable code (`KUP-DRAIN-003`, `KUP-PROVIDER-007`), when it has one. */
  readonly code?: string;
  readonly message: string;
}

/** The run's status: a discriminated union on `phase`. */
export type RunStatus =
  | { readonly phase: 'pending' }
  | { readonly phase: 'prechecking' }
  | { readonly phase: 'snapshotting' }
  | { readonly phase: 'upgrading-control-plane' }
  | { readonly phase: 'upgrading-pools' }
  | { readonly phase: 'validating' }
  | { readonly phase: 'succeeded'; readonly at: number }
  | {
      readonly phase: 'paused';
      readonly reason: PauseReason;
      /** One line for the operator. */
      readonly message: string;
      readonly pausedAt: number;
      readonly cause?: FailureCause;
      /** Where resume goes back to. */
      readonly resumeTo: ActivePhase;
      /** `window-closed` only: when the next window opens (the scheduler resumes the run then). */
      readonly resumesAt?: number;
      /**
       * The run was cancelling when a step failed: a resume retries that step and goes on cancelling (the operator's
       * cancel stands), not back to `resumeTo`'s upgrade.
       */
      readonly cancelling?: boolean;
    }
  | {
      readonly phase: 'cancelling';
      readonly requestedAt: number;
      /** What the cancel left as the failed steps left it (a node cordoned, a surge node beside its old one). */
      readonly leftBehind?: readonly string[];
    }
  | { readonly phase: 'cancelled'; readonly at: number; readonly leftBehind?: readonly string[] }
  | { readonly phase: 'failed'; readonly code: FailureCode; readonly reason: string; readonly at: number }
  | { readonly phase: 'rolling-back'; readonly mode: RollbackMode }
  | { readonly phase: 'rolled-back'; readonly mode: RollbackMode; readonly at: number };

/** One of the status phases. */
export type RunPhase = RunStatus['phase'];

// ---- progress of steps ---------------------------------------------------------------------------------------------

/**
 * Where one step stands, named after its last finished action: a worker node goes pending -> cordoned -> drained
 * -> replaced/upgraded -> ready -> uncordoned (or old-node-deleted) -> done; with surge, replaced comes first and
 * ready before drained.
 */
export type UnitStage =
  | 'pending'
  | 'running'
  | 'cordoned'
  | 'drained'
  | 'replaced'
  | 'upgraded'
  | 'ready'
  | 'uncordoned'
  | 'old-node-deleted'
  | 'rolled-back'
  | 'done'
  | 'quarantined'
  | 'skipped';

/** The action of a step that has been asked of the executor and has not been reported back. */
export interface InFlightAction {
  readonly action: ActionType;
  /** Position of the action in the step's actions. */
  readonly index: number;
  /** 1 on the first try; each retry (automatic or on resume) counts up. */
  readonly attempt: number;
  /**
   * Generation of the idempotency key: 1 at first. A retry after a transient failure keeps it (the first call may
   * have taken effect: the same key makes the provider answer with that effect instead of acting again); a retry
   * after a definitive failure, or with other arguments (a forced drain), takes the next one.
   */
  readonly generation: number;
  /** Automatic retries since the last operator retry. */
  readonly autoRetries: number;
  readonly issuedAt: number;
  /** When the executor reported it started (step-started). */
  readonly startedAt: number | null;
  /** Do not perform before this time (backoff of an automatic retry). */
  readonly notBefore: number | null;
  /** Drain only: delete pods past their PDBs. */
  readonly force: boolean;
  /** Soak only: when the soak ends. */
  readonly until: number | null;
}

/** A step's failure that paused the run; resume retries the action. */
export interface UnitFailure {
  readonly action: ActionType;
  readonly index: number;
  readonly attempt: number;
  readonly generation: number;
  /** The failure was transient (its retry budget ran out): a retry keeps the idempotency key. */
  readonly retryable: boolean;
  readonly at: number;
  readonly cause: FailureCause;
  /** The drain timed out (so a retry may force, under the `force` policy). */
  readonly drainTimedOut: boolean;
}

/** Progress of one unit of work: a plan step, a batch's gate, a rollback step, or the precheck. */
export interface UnitProgress {
  readonly key: string;
  /** The node the step acts on, resolved when it started (a slot's current node); absent for non-node steps. */
  readonly node?: string;
  /** The step's actions when they differ from the plan's (quarantine replaces the rest with `label-node`). */
  readonly script?: readonly ActionType[];
  /** How many actions are finished. */
  readonly done: number;
  readonly stage: UnitStage;
  readonly inFlight: InFlightAction | null;
  readonly failure: UnitFailure | null;
  /** The node created by `replace-node` or `rollback-node`. */
  readonly newNode?: string;
  /** Actions that were performed at least once, even if they then failed (rollback needs to know). */
  readonly attempted: readonly ActionType[];
  readonly forced?: boolean;
  /** Replacements this step made and removed again, because they never became Ready (`resume --replace-node`). */
  readonly discarded?: readonly string[];
  readonly startedAt: number;
  readonly finishedAt: number | null;
}

// ---- rollback ------------------------------------------------------------------------------------------------------

/** How a rollback brings the cluster back. */
export type RollbackMode =
  /** Before the point of no return: every changed node goes back to its old version and image. */
  | 'nodes'
  /** After it: the worker nodes go back, then the snapshot restores the cluster's state and control plane. */
  | 'snapshot';

/** One action of a rollback step, on a named node (or on the node `rollback-node` created). */
export interface RollbackAction {
  readonly type: ActionType;
  /** The node acted on; absent: the node this step's `rollback-node` created. */
  readonly node?: string;
  /** `label-node` only: labels to set (a `null` value removes the label). */
  readonly labels?: Readonly<Record<string, string | null>>;
}

/** One step of a rollback. */
export interface RollbackStep {
  readonly key: string;
  readonly kind: 'worker-node' | 'control-plane-node' | 'restore-snapshot' | 'postcheck';
  /** The node slot or control-plane node rolled back. */
  readonly node?: string;
  readonly pool?: string;
  readonly strategy?: UpgradeStrategy;
  /** What the node runs again after the rollback. */
  readonly target?: NodeTarget;
  /** Control-plane nodes: the components moving back, in order. */
  readonly components?: readonly ComponentMove[];
  readonly actions: readonly RollbackAction[];
  readonly estimateMs: number;
}

/** Steps of a rollback that run together. */
export interface RollbackBatch {
  readonly key: string;
  readonly steps: readonly RollbackStep[];
}

/** A rollback in progress or done. */
export interface RollbackState {
  readonly mode: RollbackMode;
  readonly requestedAt: number;
  readonly batches: readonly RollbackBatch[];
  /** Index of the batch being rolled back. */
  readonly cursor: number;
}

// ---- the state -----------------------------------------------------------------------------------------------------

/** A blocker the operator accepted for this run (precheck acknowledgement). */
export interface AcknowledgedBlocker {
  readonly rule: string;
  readonly object?: string;
  readonly reason: string;
}

/** A precheck blocker, as the failed precheck reported it. */
export interface PrecheckBlocker {
  readonly rule: string;
  readonly message: string;
  readonly objects?: readonly string[];
}

/** A drain that went past PDBs under the `force` policy. */
export interface ForcedDrain {
  readonly key: string;
  readonly node: string;
  readonly pods: readonly BlockedPod[];
  readonly at: number;
}

/** A node left cordoned and labelled under the `quarantine` policy. */
export interface QuarantinedNode {
  readonly key: string;
  readonly node: string;
  readonly pods: readonly BlockedPod[];
  readonly at: number;
}

/** The whole state of a run. Persist it after every transition, before performing the effects. */
export interface RunState {
  /** Schema of this object; bumped when its shape changes. */
  readonly schema: 1;
  readonly runId: string;
  /** The plan as it is now (re-planned batches after a resume included; see `plan.revision`). */
  readonly plan: RolloutPlan;
  readonly options: ResolvedRunOptions;
  readonly status: RunStatus;
  /** Forward position: the phase and batch of the plan being worked on. */
  readonly cursor: { readonly phase: number; readonly batch: number };
  /** Progress of every unit that has started, by key. */
  readonly units: Readonly<Record<string, UnitProgress>>;
  /** Node slot -> the node that replaced it, for slots replaced during the run. */
  readonly lineage: Readonly<Record<string, string>>;
  readonly snapshot: { readonly id: string; readonly takenAt: number } | null;
  /** When the first control-plane move that only a snapshot can undo was issued. */
  readonly pointOfNoReturnPassedAt: number | null;
  readonly acknowledged: readonly AcknowledgedBlocker[];
  /**
   * `Kind/namespace/name` of the workloads whose pods were failing (crash loops, image pulls) when the prechecks
   * passed: the batch validation and the postcheck do not blame them on the upgrade. Absent in runs persisted before
   * it was recorded.
   */
  readonly failingBefore?: readonly string[];
  readonly precheckBlockers: readonly PrecheckBlocker[];
  readonly quarantined: readonly QuarantinedNode[];
  readonly forcedDrains: readonly ForcedDrain[];
  readonly rollback: RollbackState | null;
  readonly createdAt: number;
  /** When the prechecks passed (the plan's estimates count from here). */
  readonly runningSince: number | null;
  /** Time spent paused, finished pauses only. */
  readonly pausedTotalMs: number;
  /** Sequence number of the last event emitted. */
  readonly seq: number;
  readonly updatedAt: number;
}

// ---- events --------------------------------------------------------------------------------------------------------

/** What a finished action returned. */
export interface StepResult {
  /** `replace-node`, `rollback-node` (replacement): the node created. */
  readonly newNode?: string;
  /** `take-snapshot`: the snapshot's id. */
  readonly snapshot?: string;
  readonly message?: string;
}

/** What the run is told. */
export type RunEvent =
  | { readonly type: 'started' }
  | {
      readonly type: 'precheck-passed';
      readonly acknowledged?: readonly AcknowledgedBlocker[];
      /** Workloads failing before the upgrade (`Kind/namespace/name`). */
      readonly failingWorkloads?: readonly string[];
    }
  | { readonly type: 'precheck-failed'; readonly blockers: readonly PrecheckBlocker[] }
  | { readonly type: 'step-started'; readonly key: string; readonly action: ActionType }
  | { readonly type: 'step-succeeded'; readonly key: string; readonly action: ActionType; readonly result?: StepResult }
  | {
      readonly type: 'step-failed';
      readonly key: string;
      readonly action: ActionType;
      readonly error: { readonly code?: string; readonly message: string };
      /** Trying again may help (a 503, a timeout): retried automatically within the budget. @default false */
      readonly retryable?: boolean;
      readonly cause?: Omit<FailureCause, 'message' | 'key' | 'action'>;
    }
  | {
      readonly type: 'drain-timed-out';
      readonly key: string;
      readonly pods: readonly BlockedPod[];
      readonly message?: string;
    }
  | { readonly type: 'pause-requested'; readonly message?: string }
  /**
   * The maintenance window of an automatic run ended: pause at the next safe point (started steps finish, nothing new
   * starts) until `resumesAt`, the next window's start, when known. A run paused for another reason stays as it is.
   */
  | { readonly type: 'window-closed'; readonly resumesAt?: number; readonly message?: string }
  | {
      readonly type: 'resume-requested';
      /**
       * Replace, rather than wait for again, each failed step's replacement that never became Ready: the node it made
       * is removed and a new one made (with a new idempotency key, so the provider makes a new machine).
       */
      readonly replaceNode?: boolean;
    }
  | { readonly type: 'cancel-requested' }
  | { readonly type: 'rollback-requested' }
  | { readonly type: 'soak-elapsed'; readonly key: string }
  /**
   * The executor lost the cluster's API server at `since` (`message`: why, e.g. ECONNREFUSED); `pause` once the
   * outage outlasted the run's limit. Logged when it is first seen, so the operator knows why nothing moves.
   */
  | { readonly type: 'api-unreachable'; readonly since: number; readonly message: string; readonly pause?: boolean }
  /** The API server answers again after an outage that began at `since`. */
  | { readonly type: 'api-reachable'; readonly since: number }
  /** A step in flight takes longer than expected: what it waits for, and for how long (logged, nothing changes). */
  | { readonly type: 'step-waiting'; readonly key: string; readonly action: ActionType; readonly message: string }
  /** Time passes (the `now` of the transition): ends a run paused too long. */
  | { readonly type: 'tick' };

// ---- effects -------------------------------------------------------------------------------------------------------

/** What happened, for the run's event log. */
export type RunLogOutcome =
  | 'started'
  | 'succeeded'
  | 'failed'
  | 'retrying'
  | 'skipped'
  | 'quarantined'
  | 'forced'
  | 'phase'
  | 'paused'
  | 'resumed'
  | 'replanned'
  | 'cancelling'
  | 'cancelled'
  | 'expired'
  | 'unreachable'
  | 'reachable'
  | 'waiting'
  | 'rolling-back'
  | 'rolled-back'
  | 'precheck';

/** One entry of the run's event log. */
export interface RunLogEntry {
  /** Strictly increasing within a run: a duplicate insert is recognised by it. */
  readonly seq: number;
  readonly at: number;
  readonly outcome: RunLogOutcome;
  readonly key?: string;
  readonly node?: string;
  readonly action?: ActionType;
  readonly message: string;
}

interface EffectBase {
  /** The step (or batch gate) the effect belongs to. */
  readonly key: string;
  /**
   * Key for the provider or the cluster call: `<key>/<action>`, with `#<generation>` after a definitive failure.
   * The same on a re-issue after a crash and on a retry after a transient failure.
   */
  readonly idempotencyKey: string;
  /** 1 on the first try. */
  readonly attempt: number;
  /** Wait until this time before performing the effect (automatic retry backoff). */
  readonly notBefore: number | null;
}

/**
 * What the executor performs, reporting back `step-succeeded` / `step-failed` (or `drain-timed-out`,
 * `soak-elapsed`, `precheck-passed` / `precheck-failed`) with the effect's `key` and `type` as the action.
 * `emit-event` is a record, not an action: write it with the state, in the same transaction.
 */
export type Effect =
  | (EffectBase & {
      readonly type: 'precheck';
      /** The version the cluster is checked against: the plan's target (an image-only plan: the version it runs). */
      readonly target: string;
    })
  | (EffectBase & { readonly type: 'take-snapshot'; readonly name: string })
  | (EffectBase & {
      readonly type: 'upgrade-cp-node';
      readonly node: string;
      readonly version: string;
      readonly components: readonly ComponentMove[];
      /** A rollback's move back to the version the node had. */
      readonly rollback: boolean;
    })
  | (EffectBase & { readonly type: 'check-api-health'; readonly node: string })
  | (EffectBase & { readonly type: 'cordon'; readonly node: string })
  | (EffectBase & {
      readonly type: 'taint-nodes';
      /** Put the taint on these nodes; `null`: take it off every node that has it. */
      readonly nodes: readonly string[] | null;
    })
  | (EffectBase & { readonly type: 'drain'; readonly node: string; readonly force: boolean })
  | (EffectBase & {
      readonly type: 'replace-node';
      readonly node: string;
      readonly pool: string;
      readonly target: NodeTarget;
    })
  | (EffectBase & {
      readonly type: 'upgrade-node-in-place';
      readonly node: string;
      readonly pool: string;
      readonly target: NodeTarget;
    })
  | (EffectBase & {
      readonly type: 'wait-node-ready';
      readonly node: string;
      readonly target?: NodeTarget;
      /** The node the step drains once `node` is ready (a surge replacement's old node): known ahead of its drain. */
      readonly thenDrains?: string;
    })
  | (EffectBase & { readonly type: 'uncordon'; readonly node: string })
  | (EffectBase & { readonly type: 'delete-old-node'; readonly node: string; readonly replacedBy?: string })
  /** Removes the step's own replacement, which never became Ready (`resume --replace-node`); a node gone is done. */
  | (EffectBase & { readonly type: 'discard-replacement'; readonly node: string })
  | (EffectBase & {
      readonly type: 'label-node';
      readonly node: string;
      readonly labels: Readonly<Record<string, string | null>>;
    })
  | (EffectBase & {
      readonly type: 'validate-batch';
      readonly pool?: string;
      readonly batch: number;
      /** The batch's nodes as they are now (replacements, not the nodes they replaced; quarantined ones left out). */
      readonly nodes: readonly string[];
      /** Workloads failing before the upgrade: their failing pods are not the batch's fault. */
      readonly failingBefore?: readonly string[];
    })
  | (EffectBase & { readonly type: 'soak'; readonly durationMs: number; readonly until: number })
  | (EffectBase & {
      readonly type: 'postcheck';
      /** The version the cluster must run now: the plan's target, or after a rollback the version it had before. */
      readonly target: string;
      /** Nodes the run quarantined and left at their version (the drain-timeout policy): named, not held against it. */
      readonly quarantined?: readonly string[];
      /** Workloads failing before the upgrade: a warning, not a blocker, if they still fail. */
      readonly failingBefore?: readonly string[];
      /**
       * A canary's validation: the nodes the run has yet to move (or whose version its own wait already checked),
       * not held to the target's version. Absent for the run's final postcheck.
       */
      readonly pending?: readonly string[];
    })
  | (EffectBase & {
      readonly type: 'rollback-node';
      readonly node: string;
      readonly pool: string;
      /** `replace`: a new node at the old version and image (report it as `newNode`); `in-place`: this node. */
      readonly strategy: UpgradeStrategy;
      readonly target: NodeTarget;
    })
  | (EffectBase & {
      readonly type: 'restore-snapshot';
      readonly snapshot: string;
      /** Nodes deleted since the snapshot: the restore brings their Node objects back, and they must go again. */
      readonly staleNodes: readonly string[];
    })
  | { readonly type: 'emit-event'; readonly entry: RunLogEntry };

/** The effects that act (every effect but `emit-event`). */
export type ActionEffect = Exclude<Effect, { readonly type: 'emit-event' }>;

/** What {@link transition} returns. */
export interface TransitionResult {
  readonly state: RunState;
  readonly effects: readonly Effect[];
}
