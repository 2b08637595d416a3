/**
 * Idempotency records of a run's provider calls, keyed by the step (`replace/app/app-3`, `cp-upgrade/cp-0`...).
 * The executor records `begin` before it calls the provider and `finish` (with the call's outcome) when the call
 * returns, the latter in the same transaction as the step's new state (`RunsRepo.commitStep`). After a crash, a
 * step that was begun and not finished is one whose call may have taken effect: the executor repeats it with the
 * same idempotency key (the provider answers with the first call's result) instead of acting twice; a finished one
 * is not called again at all.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { fromJson, isForeignKeyViolation, promised, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import { GroupCommit } from './group-commit.ts';

/** The record of one step's provider call. */
export interface StepOutcomeRow {
  readonly runId: string;
  readonly stepKey: string;
  /** When the first attempt began (ms since the epoch). */
  readonly startedAt: number;
  /** When the call's outcome was recorded; absent while it may still be in flight. */
  readonly finishedAt?: number;
  /** The call's outcome (the engine owns its shape); present when finished. */
  readonly outcome?: unknown;
}

/** What {@link StepOutcomesRepo.begin} found. */
export interface StepBegin {
  readonly record: StepOutcomeRow;
  /** True when this call created the record; false when an earlier attempt had (a retry after a crash). */
  readonly firstAttempt: boolean;
}

/** A step's outcome to record. */
export interface StepFinish {
  readonly stepKey: string;
  readonly finishedAt: number;
  readonly outcome: unknown;
}

/** The step-outcomes store. */
export interface StepOutcomesRepo {
  /**
   * Records that a step's call is about to be made, unless an earlier attempt did: then returns that record.
   *
   * @throws {StoreError} KUP-STORE-004 when the run does not exist.
   */
  begin(runId: string, stepKey: string, at: number): Promise<StepBegin>;
  /**
   * Records a step's outcome. The first outcome recorded wins: finishing a finished step returns the stored record
   * unchanged.
   *
   * @throws {StoreError} KUP-STORE-010 when the step was not begun.
   */
  finish(runId: string, finish: StepFinish): Promise<StepOutcomeRow>;
  /** One step's record. */
  get(runId: string, stepKey: string): Promise<StepOutcomeRow | undefined>;
  /** A run's records, in the order the steps began. */
  list(runId: string): Promise<readonly StepOutcomeRow[]>;
}

interface StepRecord {
  run_id: string;
  step_key: string;
  started_at: number;
  finished_at: number | null;
  outcome: string | null;
}

/** {@link StepOutcomesRepo} on SQLite. */
export class SqliteStepOutcomesRepo implements StepOutcomesRepo {
  readonly #db: SqliteDatabase;
  readonly #insert: Statement<[string, string, number]>;
  readonly #finish: Statement<[number, string, string, string]>;
  readonly #get: Statement<[string, string], StepRecord>;
  readonly #list: Statement<[string], StepRecord>;
  readonly #commits: GroupCommit;

  /** `commits`: the store's group commit (@default one of this repository's own). */
  constructor(db: SqliteDatabase, commits: GroupCommit = new GroupCommit(db)) {
    this.#db = db;
    this.#commits = commits;
    this.#insert = db.prepare(
      'INSERT INTO step_outcomes (run_id, step_key, started_at) VALUES (?, ?, ?) ON CONFLICT (run_id, step_key) DO NOTHING',
    );
    this.#finish = db.prepare(
      'UPDATE step_outcomes SET finished_at = ?, outcome = ? WHERE run_id = ? AND step_key = ? AND finished_at IS NULL',
    );
    this.#get = db.prepare('SELECT * FROM step_outcomes WHERE run_id = ? AND step_key = ?');
    this.#list = db.prepare('SELECT * FROM step_outcomes WHERE run_id = ? ORDER BY started_at, rowid');
  }

  begin(runId: string, stepKey: string, at: number): Promise<StepBegin> {
    const begin = this.#db.transaction((): StepBegin => {
      let created: boolean;
      try {
        created = this.#insert.run(runId, stepKey, at).changes === 1;
      } catch (err) {
        if (isForeignKeyViolation(err)) {
          throw new StoreError(StoreErrorCode.runNotFound, `run ${runId} does not exist`, { run: runId, stepKey }, { cause: err });
        }
        throw err;
      }
      return { record: this.#require(runId, stepKey), firstAttempt: created };
    });
    return this.#commits.run(() => begin());
  }

  finish(runId: string, finish: StepFinish): Promise<StepOutcomeRow> {
    return this.#commits.run(() => this.finishInTransaction(runId, finish));
  }

  get(runId: string, stepKey: string): Promise<StepOutcomeRow | undefined> {
    return promised(() => {
      const row = this.#get.get(runId, stepKey);
      return row === undefined ? undefined : toRow(row);
    });
  }

  list(runId: string): Promise<readonly StepOutcomeRow[]> {
    return promised(() => this.#list.all(runId).map(toRow));
  }

  /** Records an outcome inside the caller's write transaction (RunsRepo.commitStep). */
  finishInTransaction(runId: string, finish: StepFinish): StepOutcomeRow {
    const outcome = toJson(finish.outcome, `outcome of step ${finish.stepKey}`);
    const changed = this.#finish.run(finish.finishedAt, outcome, runId, finish.stepKey).changes === 1;
    if (!changed && this.#get.get(runId, finish.stepKey) === undefined) {
      throw new StoreError(
        StoreErrorCode.stepNotBegun,
        `step ${finish.stepKey} of run ${runId} was never begun: record begin() before calling the provider`,
        { run: runId, stepKey: finish.stepKey },
      );
    }
    return this.#require(runId, finish.stepKey);
  }

  #require(runId: string, stepKey: string): StepOutcomeRow {
    const row = this.#get.get(runId, stepKey);
    if (row === undefined) throw new StoreError(StoreErrorCode.stepNotBegun, `step ${stepKey} of run ${runId} has no record`, { run: runId, stepKey });
    return toRow(row);
  }
}

function toRow(r: StepRecord): StepOutcomeRow {
  return {
    runId: r.run_id,
    stepKey: r.step_key,
    startedAt: r.started_at,
    ...(r.finished_at !== null ? { finishedAt: r.finished_at } : {}),
    ...(r.outcome !== null ? { outcome: fromJson(r.outcome) } : {}),
  };
}
