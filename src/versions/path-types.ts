/**
 * Input and output of the upgrade-path planner ({@link planUpgradePath}). The output is plain data: a CLI prints it,
 * a rollout engine executes its steps in order, and it survives a JSON round trip.
 *
 * @module
 */
import type { Classification, RemovedApi } from './catalog-types.ts';

/**
 * How worker pools move while the control plane climbs minor by minor:
 * - `minimal` (the default): pools move only when the skew policy forces them (a kubelet would fall too far behind
 *   the next control-plane hop) and once at the end to the target, as Cluster API's chained upgrades do. Under
 *   rolling replacement every move replaces every node of the pool, so 1.30 -> 1.35 costs one replacement per node
 *   instead of five.
 * - `follow`: after every control-plane hop, every pool moves to that version (each kubelet runs every minor).
 */
export type WorkerStrategy = 'follow' | 'minimal';

/** A worker pool as it is now. */
export interface PoolInput {
  readonly name: string;
  /** kubelet version the pool's nodes report, vendor suffix allowed (`v1.30.4-eks-abc`). */
  readonly kubelet: string;
}

/** What to plan: from the cluster as it is to a target version. */
export interface PlanPathInput {
  /** Current kube-apiserver version, vendor suffix allowed. */
  readonly controlPlane: string;
  readonly pools: readonly PoolInput[];
  /** Target Kubernetes version; must be in the catalog. */
  readonly target: string;
}

/** Options of {@link planUpgradePath}. */
export interface PlanPathOptions {
  /** The day the plan is made for: classification (preview, expired) is computed against it. */
  readonly now: Date;
  /**
   * Accept a preview target (release candidate, or not yet released on `now`).
   * @default false
   */
  readonly allowPreview?: boolean;
  /**
   * Accept a target past its end of support. Not needed for one on the way from an expired minor toward support
   * (the latest patch of an expired minor between the cluster's and the oldest supported one).
   * @default false
   */
  readonly allowExpired?: boolean;
  /** @default 'minimal' */
  readonly workerStrategy?: WorkerStrategy;
}

/** Why a pool moves at this point of the path. */
export type PoolMoveReason =
  /** It follows the control-plane hop just made (`follow` strategy). */
  | 'follow'
  /** The next control-plane hop would put its kubelet out of the skew policy, so it moves first. */
  | 'skew'
  /** Final move to the target version. */
  | 'target'
  /** One-patch-back downgrade: nodes go back before the control plane. */
  | 'downgrade';

/** One step of the path; steps run in order. */
export type UpgradeStep =
  | { readonly kind: 'control-plane'; readonly from: string; readonly to: string }
  | {
      readonly kind: 'pool';
      readonly pool: string;
      readonly from: string;
      readonly to: string;
      readonly reason: PoolMoveReason;
    };

/** Something the operator must be told about the path. Every note carries a one-sentence `message`. */
export type PathNote =
  /** Upgrade notes and removed APIs of a minor the control plane enters. */
  | {
      readonly kind: 'upgrade-notes';
      readonly minor: string;
      readonly releaseNotes: string;
      readonly notes: readonly string[];
      readonly removedApis: readonly RemovedApi[];
      readonly message: string;
    }
  /** A pool does not follow some control-plane hops (it lags within the skew policy). */
  | {
      readonly kind: 'workers-skip-hops';
      readonly pool: string;
      /** Control-plane versions the pool never runs. */
      readonly skipped: readonly string[];
      /** The versions the pool's kubelet goes through, first to last. */
      readonly kubeletPath: readonly string[];
      readonly message: string;
    }
  /** A pool must move before a control-plane hop, or its kubelet would fall out of the skew policy. */
  | {
      readonly kind: 'pool-moved-for-skew';
      readonly pool: string;
      readonly beforeHop: string;
      readonly message: string;
    }
  /** A pool is out of the skew policy already; the path brings it back first. */
  | {
      readonly kind: 'pool-out-of-skew';
      readonly pool: string;
      readonly kubelet: string;
      readonly controlPlane: string;
      readonly message: string;
    }
  /** A pool is left where it is. */
  | { readonly kind: 'pool-unchanged'; readonly pool: string; readonly kubelet: string; readonly message: string }
  /** The target is not plainly supported (allowed preview or expired, on the way toward support, or deprecated). */
  | {
      readonly kind: 'target-classification';
      readonly version: string;
      readonly classification: Exclude<Classification, 'supported'>;
      /** Expired, but on the way from an expired minor toward support (needs no allowExpired). */
      readonly towardSupport?: true;
      readonly message: string;
    }
  /** The control plane passes through a release past its end of support on the way. */
  | { readonly kind: 'expired-hop'; readonly version: string; readonly message: string };

/** Whether there is anything to do, and in which direction. */
export type UpgradePathKind = 'nothing-to-do' | 'upgrade' | 'downgrade';

/** The planned path. */
export interface UpgradePath {
  readonly kind: UpgradePathKind;
  /** Current control-plane version (core version, vendor suffix removed). */
  readonly from: string;
  readonly to: string;
  readonly workerStrategy: WorkerStrategy;
  readonly steps: readonly UpgradeStep[];
  readonly notes: readonly PathNote[];
}
