/**
 * Errors of kup's store, with a stable code in the message and the run or cluster named. Expected outcomes that a
 * caller branches on (a lease held by another kup, a cluster that still has an active run) are returned as data by
 * the repositories; these errors are for what a caller cannot go on from.
 */
import { KupError } from '../errors/kup-error.ts';
import type { KupErrorKind } from '../errors/kup-error.ts';

/** Stable codes of store errors. */
export const StoreErrorCode = {
  /** The database cannot be opened or configured. */
  open: 'KUP-STORE-001',
  /** The database was written by a newer kup (its schema is ahead of this one's migrations). */
  schemaTooNew: 'KUP-STORE-002',
  /** A migration failed; the database is left at the last version that applied whole. */
  migration: 'KUP-STORE-003',
  /** No run with that id. */
  runNotFound: 'KUP-STORE-004',
  /** Another writer saved the run first (optimistic concurrency). */
  runConflict: 'KUP-STORE-005',
  /** The caller does not hold the run's lease (any more). */
  leaseLost: 'KUP-STORE-006',
  /** A cluster with that name is already registered. */
  clusterExists: 'KUP-STORE-007',
  /** The cluster a run names is not registered. */
  clusterNotFound: 'KUP-STORE-008',
  /** A value cannot be stored as JSON (undefined, a cycle, a BigInt). */
  notJson: 'KUP-STORE-009',
  /** A step outcome is finished before it was begun. */
  stepNotBegun: 'KUP-STORE-010',
  /** A run with that id already exists. */
  runExists: 'KUP-STORE-011',
  /** The cluster already has a run that has not ended (running, or paused): one run per cluster at a time. */
  clusterBusy: 'KUP-STORE-012',
  /** The database file is not a SQLite database, or is damaged. */
  corrupt: 'KUP-STORE-013',
  /** Another writer saved the rollout first (optimistic concurrency). */
  rolloutConflict: 'KUP-STORE-014',
  /** No rollout with that id. */
  rolloutNotFound: 'KUP-STORE-015',
} as const;
/** One of StoreErrorCode's values. */
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

/** What a store error is about. */
export interface StoreErrorDetails {
  readonly run?: string;
  readonly cluster?: string;
  readonly path?: string;
  readonly stepKey?: string;
  readonly rollout?: string;
}

/** A failure of kup's store. */
export class StoreError extends KupError<StoreErrorCode, StoreErrorDetails> {
  override readonly name: string = 'StoreError';
  constructor(code: StoreErrorCode, message: string, details: StoreErrorDetails = {}, options?: { cause?: unknown }) {
    super(code, message, {
      kind: STORE_ERROR_KIND[code],
      // A stale write is retried after a fresh read; nothing else here gets better by trying again.
      retryable: code === StoreErrorCode.runConflict || code === StoreErrorCode.rolloutConflict,
      details,
      cause: options?.cause,
    });
  }
}

const STORE_ERROR_KIND: Readonly<Record<StoreErrorCode, KupErrorKind>> = {
  [StoreErrorCode.open]: 'unavailable',
  // A newer kup's database, or a migration that failed: this kup cannot go on, and no request of the caller's is wrong.
  [StoreErrorCode.schemaTooNew]: 'failed',
  [StoreErrorCode.migration]: 'failed',
  [StoreErrorCode.runNotFound]: 'not-found',
  [StoreErrorCode.runConflict]: 'conflict',
  [StoreErrorCode.leaseLost]: 'conflict',
  [StoreErrorCode.clusterExists]: 'conflict',
  [StoreErrorCode.clusterNotFound]: 'not-found',
  // kup handed its store something it cannot hold, or finished a step it never began: kup's own bug.
  [StoreErrorCode.notJson]: 'internal',
  [StoreErrorCode.stepNotBegun]: 'internal',
  [StoreErrorCode.runExists]: 'conflict',
  [StoreErrorCode.clusterBusy]: 'conflict',
  // The file is damaged: no request of the caller's is wrong, and trying again will not help.
  [StoreErrorCode.corrupt]: 'failed',
  [StoreErrorCode.rolloutConflict]: 'conflict',
  [StoreErrorCode.rolloutNotFound]: 'not-found',
};

/**
 * A run was saved by another writer after the caller read it: the caller's `expectedVersion` is stale. The caller
 * re-reads the run (and, if it no longer holds the lease, stops stepping it).
 */
export class RunConflictError extends StoreError {
  override readonly name = 'RunConflictError';
  constructor(
    readonly runId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(
      StoreErrorCode.runConflict,
      `run ${runId} was saved by another writer: expected version ${expectedVersion}, it is at ${actualVersion}`,
      { run: runId },
    );
  }
}

/**
 * A run would start (or start again) on a cluster that another run, not ended, still owns: two runs would upgrade the
 * same control plane and drain the same nodes at once. Decided inside the write transaction, so two processes that
 * create runs together cannot both succeed.
 */
export class ClusterBusyError extends StoreError {
  override readonly name = 'ClusterBusyError';
  constructor(
    readonly cluster: string,
    /** The run that owns the cluster, and its phase. */
    readonly activeRun: { readonly id: string; readonly phase: string },
    /** The run that was refused. */
    readonly refusedRun: string,
  ) {
    super(
      StoreErrorCode.clusterBusy,
      `cluster ${cluster} already has run ${activeRun.id} (${activeRun.phase}): one run per cluster; ` +
        `follow it with 'kup status ${activeRun.id}', or end it with 'kup cancel ${activeRun.id}' before starting another`,
      { run: refusedRun, cluster },
    );
  }
}

/** The caller does not hold a run's lease: another kup took it over (after it expired) or it was released. */
export class LeaseLostError extends StoreError {
  override readonly name = 'LeaseLostError';
  constructor(
    readonly runId: string,
    readonly owner: string,
    /** Who holds it now, if anyone. */
    readonly holder: string | undefined,
  ) {
    super(
      StoreErrorCode.leaseLost,
      `${owner} does not hold the lease of run ${runId}${holder === undefined ? ' (nobody does)' : `: ${holder} does`}`,
      { run: runId },
    );
  }
}
