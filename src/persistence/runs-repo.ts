/**
 * Runs: one upgrade of one cluster, its plan and its state (JSON the engine owns), saved after every step.
 *
 * Three guarantees the engine builds on:
 * - **Optimistic concurrency**: every save names the version it read; a save over a newer version fails with
 *   {@link RunConflictError} instead of overwriting it.
 * - **A step commits whole**: {@link RunsRepo.commitStep} writes the new state, appends the step's events and records
 *   the outcomes of its provider calls in one transaction, so after a crash state, events and idempotency records
 *   always agree.
 * - **A commit writes what changed**: the plan is stored once, in a table of its own, and written again only when the
 *   run is re-planned; a state's large maps (a unit per node) can be stored as {@link StateEntry} rows, so that a
 *   commit writes the entries a step changed instead of the whole state. Reads give the state back whole.
 * - **Leases**: a run is stepped only by the kup that holds its lease (`lease_owner` until `lease_expires_at`). The
 *   holder renews it while it works; when a kup dies its lease expires and another kup (or the same one restarted)
 *   takes the run over and resumes it from the last committed step.
 */
import { randomBytes } from 'node:crypto';
import type { SqliteDatabase } from './database.ts';
import { fromJson, isForeignKeyViolation, isUniqueViolation, promised, toJson } from './database.ts';
import { ClusterBusyError, LeaseLostError, RunConflictError, StoreError, StoreErrorCode } from './errors.ts';
import { GroupCommit } from './group-commit.ts';
import type { NewRunEvent, RunEvent } from './events-repo.ts';
import { SqliteEventsRepo } from './events-repo.ts';
import type { StepFinish, StepOutcomeRow } from './step-outcomes-repo.ts';
import { SqliteStepOutcomesRepo } from './step-outcomes-repo.ts';

/** Who holds a run's lease, and until when. */
export interface RunLease {
  readonly owner: string;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

/** A run without its plan and state: what lists show. */
export interface RunSummary {
  /** e.g. `run-20250115-093012-4f1a2b` ({@link newRunId}). */
  readonly id: string;
  /** The registered cluster it upgrades. */
  readonly cluster: string;
  /** ms since the epoch. */
  readonly createdAt: number;
  /** When its state was last saved (ms since the epoch). */
  readonly updatedAt: number;
  /** What it moves the cluster to (a version, or an image for an image-only upgrade). */
  readonly target: string;
  /** The phase of its state, as the engine last saved it (`upgrading-pools`, `paused`, ...). */
  readonly phase: string;
  /** Whether it still needs stepping or an operator (false once succeeded, cancelled, failed or rolled back). */
  readonly active: boolean;
  /** Bumped by every save: the `expectedVersion` of the next one. Starts at 1. */
  readonly version: number;
  /** The lease, if one was taken and not released (it may have expired). */
  readonly lease?: RunLease;
}

/** A run with its plan, state and request. */
export interface RunRow extends RunSummary {
  readonly plan: unknown;
  readonly state: unknown;
  /** What the run was asked for (undefined when none was stored). */
  readonly request?: unknown;
}

/** A run's state as {@link RunsRepo.readState} read it: omitted when the run is still at the version the caller knew. */
export interface StateRead {
  readonly version: number;
  readonly state?: unknown;
}

/**
 * One entry of one of a state's maps, stored in a row of its own: reads put it back at `state[map][key]`. A state
 * whose maps hold an entry per node commits in O(entries changed) this way, not O(nodes).
 */
export interface StateEntry {
  /** The name of a top-level field of the state that holds an object. */
  readonly map: string;
  readonly key: string;
  /** The entry's value; undefined removes the entry. */
  readonly value?: unknown;
}

/** A new state to save, with the columns the store indexes it by (the engine derives them from the state). */
export interface StateWrite {
  /** The state; with `entries`, the state without them (reads merge them back in). */
  readonly state: unknown;
  /** Entries of the state's maps to set or remove, beside the ones already stored. @default none */
  readonly entries?: readonly StateEntry[];
  /** A new plan (the run was re-planned): replaces the plan column in the same transaction. @default the plan stays */
  readonly plan?: unknown;
  readonly phase: string;
  readonly active: boolean;
  /** When (ms since the epoch): the run's `updatedAt`. */
  readonly at: number;
}

/** A run to create. */
export interface NewRun {
  readonly id: string;
  readonly cluster: string;
  readonly target: string;
  readonly plan: unknown;
  readonly state: unknown;
  /** Entries of the state's maps stored in rows of their own (see {@link StateEntry}). @default none */
  readonly entries?: readonly StateEntry[];
  /** What the run was asked for, kept beside it. @default none */
  readonly request?: unknown;
  readonly phase: string;
  /** @default true */
  readonly active?: boolean;
  /** ms since the epoch. */
  readonly createdAt: number;
}

/** Which runs {@link RunsRepo.list} returns. */
export interface RunFilter {
  /** Only this cluster's. */
  readonly cluster?: string;
  /** Only active (true) or only finished (false) ones. @default both */
  readonly active?: boolean;
  /** Only runs whose lease is free or expired at this time (ms): what a starting kup can take over. */
  readonly claimableAt?: number;
  /** At most this many, newest first. @default no limit */
  readonly limit?: number;
}

/** Options of {@link RunsRepo.saveState} and {@link RunsRepo.commitStep}. */
export interface CommitOptions {
  /**
   * Fencing: the save fails with {@link LeaseLostError} unless this owner holds the run's lease (an expired lease
   * nobody took over still counts: no one else can have stepped the run). The executor always passes it, so a kup
   * whose lease was taken over cannot write over the new holder's steps.
   */
  readonly leaseOwner?: string;
  /** Outcomes of the step's provider calls, recorded in the same transaction. @default none */
  readonly finishSteps?: readonly StepFinish[];
}

/** What {@link RunsRepo.commitStep} wrote. */
export interface CommitResult {
  /** The run's new version. */
  readonly version: number;
  /** The events appended, with their seq. */
  readonly events: readonly RunEvent[];
  /** The step-outcome records finished. */
  readonly steps: readonly StepOutcomeRow[];
}

/** What {@link RunsRepo.acquireLease} found: the lease, or who holds it. */
export type LeaseAcquisition =
  | {
      readonly acquired: true;
      readonly lease: RunLease;
      /** The previous holder whose lease had expired (a dead or stuck kup), when this was a take-over. */
      readonly takenOverFrom?: string;
    }
  | { readonly acquired: false; readonly holder: RunLease };

/** The runs store. */
export interface RunsRepo {
  /**
   * Creates a run at version 1, with its first events, in one transaction.
   *
   * @throws {StoreError} KUP-STORE-008 when the cluster is not registered; KUP-STORE-011 when the id is taken;
   *   {@link ClusterBusyError} (KUP-STORE-012) when another run on the cluster has not ended (active runs only).
   */
  create(run: NewRun, events?: readonly NewRunEvent[]): Promise<RunRow>;
  get(id: string): Promise<RunRow | undefined>;
  /**
   * A run's state and version alone, without parsing its plan; the state is left out when the run is still at
   * `knownVersion` (what an executor polling for operators' commands needs, at the cost of one indexed read).
   */
  readState(id: string, knownVersion?: number): Promise<StateRead | undefined>;
  /** Runs, newest first. */
  list(filter?: RunFilter): Promise<readonly RunSummary[]>;
  /**
   * Saves a new state if the run is still at `expectedVersion`; resolves to the new version.
   *
   * @throws {RunConflictError} when another writer saved first. {@link LeaseLostError} per `options.leaseOwner`.
   *   {@link StoreError} KUP-STORE-004 when the run does not exist.
   */
  saveState(id: string, expectedVersion: number, write: StateWrite, options?: CommitOptions): Promise<number>;
  /**
   * Commits a step: the new state (if the run is still at `expectedVersion`), its events and its provider-call
   * outcomes, all or nothing.
   *
   * @throws the errors of {@link RunsRepo.saveState}, and of the events and outcomes written.
   */
  commitStep(
    id: string,
    expectedVersion: number,
    write: StateWrite,
    events: readonly NewRunEvent[],
    options?: CommitOptions,
  ): Promise<CommitResult>;
  /**
   * Takes a run's lease for `ttlMs` from `now` if it is free, expired, or already the caller's.
   *
   * @throws {StoreError} KUP-STORE-004 when the run does not exist.
   */
  acquireLease(runId: string, owner: string, ttlMs: number, now: number): Promise<LeaseAcquisition>;
  /**
   * Extends the caller's lease to `now + ttlMs`. An expired lease nobody took over is still the caller's.
   *
   * @throws {LeaseLostError} when another owner holds it or it was released.
   */
  renewLease(runId: string, owner: string, ttlMs: number, now: number): Promise<RunLease>;
  /** Gives the lease up; false when the caller did not hold it. */
  releaseLease(runId: string, owner: string): Promise<boolean>;
}

interface RunRecord {
  id: string;
  cluster: string;
  created_at: number;
  updated_at: number;
  target: string;
  phase: string;
  active: number;
  plan: string;
  state: string;
  request: string | null;
  version: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
}

type SummaryRecord = Omit<RunRecord, 'plan' | 'state' | 'request'>;

interface EntryRecord {
  map: string;
  key: string;
  value: string;
}

const SUMMARY_COLUMNS = 'id, cluster, created_at, updated_at, target, phase, active, version, lease_owner, lease_expires_at';

/**
 * A new run id: `run-<UTC date>-<UTC time>-<6 hex>`, sortable by creation time and safe in URLs, file names and
 * Kubernetes label values.
 */
export function newRunId(now: number, random: string = randomBytes(3).toString('hex')): string {
  const iso = new Date(now).toISOString(); // 2025-01-15T09:30:12.345Z
  return `run-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${random}`;
}

/** {@link RunsRepo} on SQLite. */
export class SqliteRunsRepo implements RunsRepo {
  readonly #db: SqliteDatabase;
  readonly #events: SqliteEventsRepo;
  readonly #steps: SqliteStepOutcomesRepo;
  readonly #commits: GroupCommit;

  /** `commits`: the store's group commit, shared with `events` and `steps` (@default one of this repository's own). */
  constructor(db: SqliteDatabase, events?: SqliteEventsRepo, steps?: SqliteStepOutcomesRepo, commits?: GroupCommit) {
    this.#db = db;
    this.#commits = commits ?? new GroupCommit(db);
    this.#events = events ?? new SqliteEventsRepo(db, this.#commits);
    this.#steps = steps ?? new SqliteStepOutcomesRepo(db, this.#commits);
  }

  create(run: NewRun, events: readonly NewRunEvent[] = []): Promise<RunRow> {
    return this.#commits.run(() => {
      const plan = toJson(run.plan, `plan of run ${run.id}`);
      const state = toJson(run.state, `state of run ${run.id}`);
      const entries = entryRows(run.id, run.entries ?? []);
      const request = run.request === undefined ? null : toJson(run.request, `request of run ${run.id}`);
      const create = this.#db.transaction(() => {
        const cluster = this.#db.prepare<[string], { removed_at: number | null }>('SELECT removed_at FROM clusters WHERE name = ?').get(run.cluster);
        if (cluster !== undefined && cluster.removed_at !== null) {
          throw new StoreError(StoreErrorCode.clusterNotFound, `cannot create run ${run.id}: cluster ${run.cluster} is not registered (it was removed)`, { run: run.id, cluster: run.cluster });
        }
        if (run.active !== false) this.#refuseBusyCluster(run.cluster, run.id);
        try {
          this.#db
            .prepare(
              `INSERT INTO runs (id, cluster, created_at, updated_at, target, phase, active, state, request, version)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
            )
            .run(run.id, run.cluster, run.createdAt, run.createdAt, run.target, run.phase, run.active === false ? 0 : 1, state, request);
        } catch (err) {
          if (isForeignKeyViolation(err)) {
            throw new StoreError(StoreErrorCode.clusterNotFound, `cannot create run ${run.id}: cluster ${run.cluster} is not registered`, { run: run.id, cluster: run.cluster }, { cause: err });
          }
          if (isUniqueViolation(err)) {
            throw new StoreError(StoreErrorCode.runExists, `a run with id ${run.id} already exists`, { run: run.id }, { cause: err });
          }
          throw err;
        }
        this.#db.prepare('INSERT INTO run_plans (run_id, plan) VALUES (?, ?)').run(run.id, plan);
        this.#writeEntries(run.id, entries);
        this.#events.appendInTransaction(run.id, events);
        return this.#getNow(run.id);
      });
      const created = create();
      if (created === undefined) throw new StoreError(StoreErrorCode.runNotFound, `run ${run.id} vanished after its creation`, { run: run.id });
      return created;
    });
  }

  get(id: string): Promise<RunRow | undefined> {
    return promised(() => this.#getNow(id));
  }

  readState(id: string, knownVersion?: number): Promise<StateRead | undefined> {
    return promised(() => {
      const row = this.#db
        .prepare<[number, string], { version: number; state: string | null }>(
          'SELECT version, CASE WHEN version = ? THEN NULL ELSE state END AS state FROM runs WHERE id = ?',
        )
        .get(knownVersion ?? 0, id);
      if (row === undefined) return undefined;
      return row.state === null ? { version: row.version } : { version: row.version, state: this.#withEntries(id, row.state) };
    });
  }

  list(filter: RunFilter = {}): Promise<readonly RunSummary[]> {
    return promised(() => {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (filter.cluster !== undefined) {
        where.push('cluster = ?');
        params.push(filter.cluster);
      }
      if (filter.active !== undefined) where.push(filter.active ? 'active = 1' : 'active = 0');
      if (filter.claimableAt !== undefined) {
        where.push('(lease_owner IS NULL OR lease_expires_at <= ?)');
        params.push(filter.claimableAt);
      }
      params.push(filter.limit ?? -1);
      const sql = `SELECT ${SUMMARY_COLUMNS} FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                   ORDER BY created_at DESC, id DESC LIMIT ?`;
      return this.#db.prepare<(string | number)[], SummaryRecord>(sql).all(...params).map(toSummary);
    });
  }

  async saveState(id: string, expectedVersion: number, write: StateWrite, options: CommitOptions = {}): Promise<number> {
    return (await this.commitStep(id, expectedVersion, write, [], options)).version;
  }

  commitStep(
    id: string,
    expectedVersion: number,
    write: StateWrite,
    events: readonly NewRunEvent[],
    options: CommitOptions = {},
  ): Promise<CommitResult> {
    return this.#commits.run(() => {
      const state = toJson(write.state, `state of run ${id}`);
      const entries = entryRows(id, write.entries ?? []);
      const plan = write.plan === undefined ? undefined : toJson(write.plan, `plan of run ${id}`);
      const commit = this.#db.transaction((): CommitResult => {
        const current = this.#db
          .prepare<[string], { version: number; lease_owner: string | null; cluster: string; active: number }>(
            'SELECT version, lease_owner, cluster, active FROM runs WHERE id = ?',
          )
          .get(id);
        if (current === undefined) throw runNotFound(id);
        if (options.leaseOwner !== undefined && current.lease_owner !== options.leaseOwner) {
          throw new LeaseLostError(id, options.leaseOwner, current.lease_owner ?? undefined);
        }
        if (current.version !== expectedVersion) throw new RunConflictError(id, expectedVersion, current.version);
        // A run that ended and starts again (a rollback of a finished run) must not join another run on its cluster.
        if (write.active && current.active === 0) this.#refuseBusyCluster(current.cluster, id);
        this.#db
          .prepare('UPDATE runs SET state = ?, phase = ?, active = ?, updated_at = ?, version = version + 1 WHERE id = ?')
          .run(state, write.phase, write.active ? 1 : 0, write.at, id);
        if (plan !== undefined) this.#db.prepare('UPDATE run_plans SET plan = ? WHERE run_id = ?').run(plan, id);
        this.#writeEntries(id, entries);
        const appended = this.#events.appendInTransaction(id, events);
        const steps = (options.finishSteps ?? []).map((f) => this.#steps.finishInTransaction(id, f));
        return { version: expectedVersion + 1, events: appended, steps };
      });
      return commit();
    });
  }

  acquireLease(runId: string, owner: string, ttlMs: number, now: number): Promise<LeaseAcquisition> {
    return this.#commits.run(() => {
      checkTtl(ttlMs);
      const acquire = this.#db.transaction((): LeaseAcquisition => {
        const lease = this.#leaseOf(runId);
        if (lease !== undefined && lease.owner !== owner && lease.expiresAt > now) return { acquired: false, holder: lease };
        const granted: RunLease = { owner, expiresAt: now + ttlMs };
        this.#db.prepare('UPDATE runs SET lease_owner = ?, lease_expires_at = ? WHERE id = ?').run(owner, granted.expiresAt, runId);
        return {
          acquired: true,
          lease: granted,
          ...(lease !== undefined && lease.owner !== owner ? { takenOverFrom: lease.owner } : {}),
        };
      });
      return acquire();
    });
  }

  renewLease(runId: string, owner: string, ttlMs: number, now: number): Promise<RunLease> {
    return this.#commits.run(() => {
      checkTtl(ttlMs);
      const renew = this.#db.transaction((): RunLease => {
        const lease = this.#leaseOf(runId);
        if (lease?.owner !== owner) throw new LeaseLostError(runId, owner, lease?.owner);
        const renewed: RunLease = { owner, expiresAt: now + ttlMs };
        this.#db.prepare('UPDATE runs SET lease_expires_at = ? WHERE id = ?').run(renewed.expiresAt, runId);
        return renewed;
      });
      return renew();
    });
  }

  releaseLease(runId: string, owner: string): Promise<boolean> {
    return this.#commits.run(
      () =>
        this.#db
          .prepare('UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?')
          .run(runId, owner).changes === 1,
    );
  }

  /** The run's lease (undefined when free); throws when the run does not exist. */
  /** Throws {@link ClusterBusyError} when a run other than `runId` on `cluster` has not ended. In a transaction. */
  #refuseBusyCluster(cluster: string, runId: string): void {
    const other = this.#db
      .prepare<[string, string], { id: string; phase: string }>(
        'SELECT id, phase FROM runs WHERE cluster = ? AND active = 1 AND id <> ? ORDER BY created_at LIMIT 1',
      )
      .get(cluster, runId);
    if (other !== undefined) throw new ClusterBusyError(cluster, other, runId);
  }

  #leaseOf(runId: string): RunLease | undefined {
    const row = this.#db
      .prepare<[string], { lease_owner: string | null; lease_expires_at: number | null }>(
        'SELECT lease_owner, lease_expires_at FROM runs WHERE id = ?',
      )
      .get(runId);
    if (row === undefined) throw runNotFound(runId);
    return row.lease_owner === null ? undefined : { owner: row.lease_owner, expiresAt: row.lease_expires_at ?? 0 };
  }

  /** Sets the entries' rows, or removes those whose value is null, inside the caller's transaction. */
  #writeEntries(runId: string, rows: readonly [map: string, key: string, value: string | null][]): void {
    if (rows.length === 0) return;
    const upsert = this.#db.prepare(
      'INSERT INTO run_state_entries (run_id, map, key, value) VALUES (?, ?, ?, ?) ON CONFLICT (run_id, map, key) DO UPDATE SET value = excluded.value',
    );
    const remove = this.#db.prepare('DELETE FROM run_state_entries WHERE run_id = ? AND map = ? AND key = ?');
    for (const [map, key, value] of rows) {
      if (value === null) remove.run(runId, map, key);
      else upsert.run(runId, map, key, value);
    }
  }

  /** The state stored as `stateJson`, with its entries' rows merged back in. */
  #withEntries(runId: string, stateJson: string): unknown {
    const state = fromJson(stateJson);
    const rows = this.#db
      .prepare<[string], EntryRecord>('SELECT map, key, value FROM run_state_entries WHERE run_id = ?')
      .all(runId);
    if (rows.length === 0) return state;
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new StoreError(StoreErrorCode.notJson, `state of run ${runId} has entries but is not an object`, { run: runId });
    }
    const fields = state as Record<string, unknown>;
    for (const { map, key, value } of rows) {
      let target = fields[map];
      if (typeof target !== 'object' || target === null || Array.isArray(target)) fields[map] = target = {};
      (target as Record<string, unknown>)[key] = fromJson(value);
    }
    return state;
  }

  #getNow(id: string): RunRow | undefined {
    const row = this.#db
      .prepare<[string], RunRecord>('SELECT runs.*, run_plans.plan FROM runs JOIN run_plans ON run_plans.run_id = runs.id WHERE runs.id = ?')
      .get(id);
    if (row === undefined) return undefined;
    return {
      ...toSummary(row),
      plan: fromJson(row.plan),
      state: this.#withEntries(id, row.state),
      ...(row.request !== null ? { request: fromJson(row.request) } : {}),
    };
  }
}

function toSummary(r: SummaryRecord): RunSummary {
  return {
    id: r.id,
    cluster: r.cluster,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    target: r.target,
    phase: r.phase,
    active: r.active === 1,
    version: r.version,
    ...(r.lease_owner !== null ? { lease: { owner: r.lease_owner, expiresAt: r.lease_expires_at ?? 0 } } : {}),
  };
}

/** The entries as rows to write: [map, key, JSON value or null to remove]. */
function entryRows(runId: string, entries: readonly StateEntry[]): [string, string, string | null][] {
  return entries.map((e) => [e.map, e.key, e.value === undefined ? null : toJson(e.value, `entry ${e.map}.${e.key} of the state of run ${runId}`)]);
}

function runNotFound(id: string): StoreError {
  return new StoreError(StoreErrorCode.runNotFound, `run ${id} does not exist`, { run: id });
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`lease ttl must be a positive number of ms, got ${ttlMs}`);
}
