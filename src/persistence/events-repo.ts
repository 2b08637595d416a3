/**
 * A run's events: an append-only log, numbered per run from 1 with no gaps (seq), that the console and the CLI
 * follow (`list(runId, { afterSeq })`). Every event also has a global id, increasing across all runs in commit
 * order, that the service's event streams use to resume without a gap or a duplicate (`listAll({ afterId })`). The engine appends the events of a step in the same transaction as the
 * step's new state (`RunsRepo.commitStep`), so the log and the state never disagree after a crash.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { fromJson, isForeignKeyViolation, promised, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';

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
  /**
   * Global id: increasing across every run's events in the order they were committed (appends are serialized by
   * the write transaction), never given out twice, even after a purge deletes events.
   */
  readonly id: number;
}

/** Options of {@link EventsRepo.list}. */
export interface ListEventsOptions {
  /** Only events after this seq (what a follower has already seen). @default 0 */
  readonly afterSeq?: number;
  /** Only events whose global id is above this one (a follower's `Last-Event-ID`). @default 0 */
  readonly afterId?: number;
  /** At most this many. @default no limit */
  readonly limit?: number;
}

/** Options of {@link EventsRepo.listAll}. */
export interface ListAllEventsOptions {
  /** Only events whose global id is above this one. @default 0 */
  readonly afterId?: number;
  /** At most this many, oldest first. @default 500 */
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
  /** Every run's events in global id order (the fleet's stream). */
  listAll(options?: ListAllEventsOptions): Promise<readonly RunEvent[]>;
  /** The highest global id given out, 0 when none was. */
  lastId(): Promise<number>;
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
  id: number;
}

/** {@link EventsRepo} on SQLite. */
export class SqliteEventsRepo implements EventsRepo {
  readonly #db: SqliteDatabase;
  readonly #insert: Statement<[string, number, number, string, string | null, string, string, string | null]>;
  readonly #lastSeq: Statement<[string], { seq: number | null }>;
  readonly #list: Statement<[string, number, number, number], EventRecord>;
  readonly #listAll: Statement<[number, number], EventRecord>;
  readonly #takeIds: Statement<[number, string], { value: number }>;
  readonly #insertId: Statement<[number, string, number]>;
  readonly #lastId: Statement<[], { value: number }>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO run_events (run_id, seq, at, step, node, outcome, message, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#lastSeq = db.prepare('SELECT MAX(seq) AS seq FROM run_events WHERE run_id = ?');
    this.#list = db.prepare(
      'SELECT e.*, i.id FROM run_events e JOIN run_event_ids i ON i.run_id = e.run_id AND i.seq = e.seq ' +
        'WHERE e.run_id = ? AND e.seq > ? AND i.id > ? ORDER BY e.seq LIMIT ?',
    );
    this.#listAll = db.prepare(
      'SELECT e.*, i.id FROM run_event_ids i JOIN run_events e ON e.run_id = i.run_id AND e.seq = i.seq WHERE i.id > ? ORDER BY i.id LIMIT ?',
    );
    this.#takeIds = db.prepare('UPDATE counters SET value = value + ? WHERE name = ? RETURNING value');
    this.#insertId = db.prepare('INSERT INTO run_event_ids (id, run_id, seq) VALUES (?, ?, ?)');
    this.#lastId = db.prepare("SELECT value FROM counters WHERE name = 'run_event_id'");
  }

  append(runId: string, events: readonly NewRunEvent[]): Promise<readonly RunEvent[]> {
    return promised(() => this.#db.transaction(() => this.appendInTransaction(runId, events)).immediate());
  }

  list(runId: string, options: ListEventsOptions = {}): Promise<readonly RunEvent[]> {
    return promised(() => this.#list.all(runId, options.afterSeq ?? 0, options.afterId ?? 0, options.limit ?? -1).map(toEvent));
  }

  listAll(options: ListAllEventsOptions = {}): Promise<readonly RunEvent[]> {
    return promised(() => this.#listAll.all(options.afterId ?? 0, options.limit ?? 500).map(toEvent));
  }

  lastId(): Promise<number> {
    return promised(() => this.#lastId.get()?.value ?? 0);
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
    if (prepared.length === 0) return stored;
    // The ids of the whole append at once: one write of the counter row, which also serializes appends on a store
    // whose transactions run side by side (PostgreSQL), so ids are handed out in commit order.
    const last = this.#takeIds.get(prepared.length, 'run_event_id')?.value;
    if (last === undefined) throw new StoreError(StoreErrorCode.migration, 'the run_event_id counter is missing: the schema is not migrated');
    let id = last - prepared.length;
    for (const { event, data } of prepared) {
      seq += 1;
      id += 1;
      try {
        this.#insert.run(runId, seq, event.at, event.step, event.node ?? null, event.outcome, event.message, data);
        this.#insertId.run(id, runId, seq);
      } catch (err) {
        if (isForeignKeyViolation(err)) {
          throw new StoreError(StoreErrorCode.runNotFound, `run ${runId} does not exist`, { run: runId }, { cause: err });
        }
        throw err;
      }
      stored.push({
        runId,
        seq,
        id,
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
    id: r.id,
    at: r.at,
    step: r.step,
    ...(r.node !== null ? { node: r.node } : {}),
    outcome: r.outcome,
    message: r.message,
    ...(r.data !== null ? { data: fromJson(r.data) } : {}),
  };
}
