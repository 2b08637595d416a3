/**
 * A run's events: an append-only log, numbered per run from 1 with no gaps (seq), that the console and the CLI
 * follow (`list(runId, { afterSeq })`). The engine appends the events of a step in the same transaction as the
 * step's new state (`RunsRepo.commitStep`), so the log and the state never disagree after a crash.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { fromJson, isForeignKeyViolation, promised, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import { GroupCommit } from './group-commit.ts';

/** An event to append: what happened at one step of a run. */
export interface NewRunEvent {
  /** When it happened (ms since the epoch, from the engine's clock). */
  readonly at: number;
  /** The step, in the engine's words (e.g. `snapshot`, `control-plane/cp-0`, `pool/app/batch-2`). */
  readonly step: string;
  /** The node it concerns, if one. */
  readonly node?: string;
  /** The outcome, in the engine's vocabulary (e.g. `started`, `succeeded`, `failed`, `paused`). */
  readonly outcome: string;
  /** One line for a human. */
  readonly message: string;
  /** Structured detail (the pod and PDB that blocked a drain, durations...); any JSON value. */
  readonly data?: unknown;
}

/** A stored event. */
export interface RunEvent extends NewRunEvent {
  readonly runId: string;
  /** 1, 2, 3... per run, in append order. */
  readonly seq: number;
}

/** Options of {@link EventsRepo.list}. */
export interface ListEventsOptions {
  /** Only events after this seq (what a follower has already seen). @default 0 */
  readonly afterSeq?: number;
  /** At most this many. @default no limit */
  readonly limit?: number;
}

/** The run-events store. */
export interface EventsRepo {
  /**
   * Appends events to a run's log, in one transaction; resolves to them with their seq.
   *
   * @throws {StoreError} KUP-STORE-004 when the run does not exist.
   */
  append(runId: string, events: readonly NewRunEvent[]): Promise<readonly RunEvent[]>;
  /** A run's events in seq order. */
  list(runId: string, options?: ListEventsOptions): Promise<readonly RunEvent[]>;
  /** The seq of a run's last event, 0 when it has none. */
  lastSeq(runId: string): Promise<number>;
}

interface EventRecord {
  run_id: string;
  seq: number;
  at: number;
  step: string;
  node: string | null;
  outcome: string;
  message: string;
  data: string | null;
}

/** {@link EventsRepo} on SQLite. */
export class SqliteEventsRepo implements EventsRepo {
  readonly #db: SqliteDatabase;
  readonly #insert: Statement<[string, number, number, string, string | null, string, string, string | null]>;
  readonly #lastSeq: Statement<[string], { seq: number | null }>;
  readonly #list: Statement<[string, number, number], EventRecord>;
  readonly #commits: GroupCommit;

  /** `commits`: the store's group commit (@default one of this repository's own). */
  constructor(db: SqliteDatabase, commits: GroupCommit = new GroupCommit(db)) {
    this.#db = db;
    this.#commits = commits;
    this.#insert = db.prepare(
      'INSERT INTO run_events (run_id, seq, at, step, node, outcome, message, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#lastSeq = db.prepare('SELECT MAX(seq) AS seq FROM run_events WHERE run_id = ?');
    this.#list = db.prepare('SELECT * FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?');
  }

  append(runId: string, events: readonly NewRunEvent[]): Promise<readonly RunEvent[]> {
    return this.#commits.run(() => this.appendInTransaction(runId, events));
  }

  list(runId: string, options: ListEventsOptions = {}): Promise<readonly RunEvent[]> {
    return promised(() => this.#list.all(runId, options.afterSeq ?? 0, options.limit ?? -1).map(toEvent));
  }

  lastSeq(runId: string): Promise<number> {
    return promised(() => this.#lastSeqNow(runId));
  }

  /**
   * Appends inside the caller's transaction (RunsRepo.commitStep uses it so state and events commit together).
   * Must be called in a write transaction: the next seq is read and used without another writer in between.
   */
  appendInTransaction(runId: string, events: readonly NewRunEvent[]): RunEvent[] {
    // Serialize every payload before the first insert: a bad one fails the whole append, not half of it.
    const prepared = events.map((e) => ({ event: e, data: e.data === undefined ? null : toJson(e.data, `event data of ${e.step}`) }));
    let seq = this.#lastSeqNow(runId);
    const stored: RunEvent[] = [];
    for (const { event, data } of prepared) {
      seq += 1;
      try {
        this.#insert.run(runId, seq, event.at, event.step, event.node ?? null, event.outcome, event.message, data);
      } catch (err) {
        if (isForeignKeyViolation(err)) {
          throw new StoreError(StoreErrorCode.runNotFound, `run ${runId} does not exist`, { run: runId }, { cause: err });
        }
        throw err;
      }
      stored.push({
        runId,
        seq,
        at: event.at,
        step: event.step,
        ...(event.node !== undefined ? { node: event.node } : {}),
        outcome: event.outcome,
        message: event.message,
        ...(data !== null ? { data: fromJson(data) } : {}),
      });
    }
    return stored;
  }

  #lastSeqNow(runId: string): number {
    return this.#lastSeq.get(runId)?.seq ?? 0;
  }
}

function toEvent(r: EventRecord): RunEvent {
  return {
    runId: r.run_id,
    seq: r.seq,
    at: r.at,
    step: r.step,
    ...(r.node !== null ? { node: r.node } : {}),
    outcome: r.outcome,
    message: r.message,
    ...(r.data !== null ? { data: fromJson(r.data) } : {}),
  };
}
