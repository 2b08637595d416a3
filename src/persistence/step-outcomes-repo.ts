/**
 * Idempotency records of a run's provider calls, keyed by the step (`replace/app/app-3`, `cp-upgrade/cp-0`...).
 * The executor records `begin` before it calls the provider and `finish` (with the call's outcome) when the call
 * returns, the latter in the same transaction as the step's new state (`RunsRepo.commitStep`). After a crash, a
 * step that was begun and not finished is one whose call may have taken effect: the executor repeats it with the
 * same idempotency key (the provider answers with the first call's result) instead of acting twice; a finished one
 * is not called again at all.
 */
import { fromJson, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import type { SqlDatabase, SqlExecutor } from './sql.ts';

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

const SELECT_ONE = 'SELECT run_id, step_key, started_at, finished_at, outcome FROM step_outcomes WHERE run_id = ? AND step_key = ?';

/** {@link StepOutcomesRepo} on the SQL layer (SQLite or PostgreSQL). */
export class SqlStepOutcomesRepo implements StepOutcomesRepo {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  begin(runId: string, stepKey: string, at: number): Promise<StepBegin> {
    return this.#db.transaction(async (tx): Promise<StepBegin> => {
      let created: boolean;
      try {
        // Two kups beginning one step at once: the second insert waits for the first and then does nothing.
        created =
          (await tx.run('INSERT INTO step_outcomes (run_id, step_key, started_at) VALUES (?, ?, ?) ON CONFLICT (run_id, step_key) DO NOTHING', [
            runId,
            stepKey,
            at,
          ])) === 1;
      } catch (err) {
        if (tx.dialect.isForeignKeyViolation(err)) {
          throw new StoreError(StoreErrorCode.runNotFound, `run ${runId} does not exist`, { run: runId, stepKey }, { cause: err });
        }
        throw err;
      }
      return { record: await requireRecord(tx, runId, stepKey), firstAttempt: created };
    });
  }

  finish(runId: string, finish: StepFinish): Promise<StepOutcomeRow> {
    return this.#db.transaction((tx) => this.finishInTransaction(tx, runId, finish));
  }

  async get(runId: string, stepKey: string): Promise<StepOutcomeRow | undefined> {
    const row = await this.#db.get<StepRecord>(SELECT_ONE, [runId, stepKey]);
    return row === undefined ? undefined : toRow(row);
  }

  async list(runId: string): Promise<readonly StepOutcomeRow[]> {
    const rows = await this.#db.all<StepRecord>(
      'SELECT run_id, step_key, started_at, finished_at, outcome FROM step_outcomes WHERE run_id = ? ORDER BY started_at, rowid',
      [runId],
    );
    return rows.map(toRow);
  }

  /** Records an outcome inside the caller's write transaction (RunsRepo.commitStep). */
  async finishInTransaction(tx: SqlExecutor, runId: string, finish: StepFinish): Promise<StepOutcomeRow> {
    const outcome = toJson(finish.outcome, `outcome of step ${finish.stepKey}`);
    const changed =
      (await tx.run('UPDATE step_outcomes SET finished_at = ?, outcome = ? WHERE run_id = ? AND step_key = ? AND finished_at IS NULL', [
        finish.finishedAt,
        outcome,
        runId,
        finish.stepKey,
      ])) === 1;
    if (!changed && (await tx.get(SELECT_ONE, [runId, finish.stepKey])) === undefined) {
      throw new StoreError(
        StoreErrorCode.stepNotBegun,
        `step ${finish.stepKey} of run ${runId} was never begun: record begin() before calling the provider`,
        { run: runId, stepKey: finish.stepKey },
      );
    }
    return requireRecord(tx, runId, finish.stepKey);
  }
}

async function requireRecord(tx: SqlExecutor, runId: string, stepKey: string): Promise<StepOutcomeRow> {
  const row = await tx.get<StepRecord>(SELECT_ONE, [runId, stepKey]);
  if (row === undefined) throw new StoreError(StoreErrorCode.stepNotBegun, `step ${stepKey} of run ${runId} has no record`, { run: runId, stepKey });
  return toRow(row);
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
