/**
 * What the engine's actions need to act on one cluster: the Kubernetes API connection, the provider, the catalog,
 * a clock, the run's settings for drains and validation, and the session of state its actions share.
 */
import type { Acknowledgement } from '../checks/types.ts';
import type { Clock } from '../clock/clock.ts';
import type { Catalog, WorkerStrategy } from '../versions/index.ts';
import type { UpgradeStrategy } from '../rollout/plan-types.ts';
import type { ClusterConnection } from '../kube-api/connect.ts';
import type { ClusterSession } from './cluster-session.ts';
import type { Provider } from './provider.ts';

/** Settings of the actions of one run. */
export interface ActionSettings {
  /** A node's drain deadline, ms. @default 600000 */
  drainTimeoutMs: number;
  /** How long the cluster's API server may be unreachable before the run pauses, ms. @default 300000 */
  unreachableTimeoutMs?: number;
  /** How often the executor probes the API server, ms. @default 10000 */
  apiProbeMs?: number;
  /**
   * When a step in flight is said to take longer than expected, ms, and how often again after that. @default the
   * plan's estimate for the action (at least 60000)
   */
  slowStepNoticeMs?: number;
  /** How long a new or upgraded node may take to be Ready, ms. @default 900000 */
  nodeReadyTimeoutMs: number;
  /**
   * Requests a group of like effects has in flight at once (a blue-green move cordons its whole blue pool in one
   * group; `--api-concurrency`). @default 32
   */
  apiConcurrency?: number;
  /** How long a batch's validation waits for workloads to be healthy again, ms. @default 600000 */
  validateTimeoutMs: number;
  /**
   * The run's target version (an image-only run: the version it stays at). The checks do not read it: each precheck
   * and postcheck effect carries its own target (the plan's, or after a rollback the version the cluster had).
   */
  targetVersion: string;
  /**
   * Drains keep all but one Ready of each workload that has several replicas and no PodDisruptionBudget (the drain's
   * `implicitBudget`; `--implicit-budget off`). @default true
   */
  implicitBudget?: boolean;
  /** Precheck blockers the operator accepted for this run, with the reason (recorded in the run). */
  acknowledgements: readonly Acknowledgement[];
  /**
   * How the run's precheck judges the target, as the operator asked when planning it (`--allow-expired`,
   * `--allow-preview`, the worker strategy): the run checks what `kup plan` checked.
   */
  precheck: {
    readonly allowExpired?: boolean;
    readonly allowPreview?: boolean;
    readonly workerStrategy?: WorkerStrategy;
    readonly implicitBudget?: boolean;
    /** How worker nodes move (`--strategy`): the node-runtime rule judges in-place nodes by what they run. */
    readonly nodeStrategy?: UpgradeStrategy;
    /** The machine image replacements boot, by pool (`--image`). */
    readonly images?: Readonly<Record<string, string>>;
    /** Control-plane nodes the plan does not drain (see `undrainedNodes` in runs.ts). */
    readonly undrainedNodes?: readonly string[];
  };
}

/** What the engine tells the process that runs it (the service counts it in /metrics). */
export interface EngineObserver {
  /** An eviction was refused by a PodDisruptionBudget (a 429). */
  evictionRefused?(cluster: string): void;
}

/** Everything an action performer gets. */
export interface EngineContext {
  readonly cluster: string;
  readonly conn: ClusterConnection;
  readonly provider: Provider;
  readonly catalog: Catalog;
  /** Every wait, timer and timestamp of the run's actions and of its executor (tests pass a ManualClock). */
  readonly clock: Clock;
  readonly settings: ActionSettings;
  /** What the run's actions share on the cluster (budget gate, node watch, forecasts); on the same clock. */
  readonly session: ClusterSession;
  /** Told of what the process counts. @default nobody */
  readonly observer?: EngineObserver;
}
