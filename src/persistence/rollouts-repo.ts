/**
 * Fleet rollouts, persisted like runs: the whole state as JSON (a rollout holds tens of clusters, not thousands of
 * nodes), its phase and whether it is active as columns to list by, a version for optimistic concurrency, and its
 * log entries appended in the same transaction as the state that produced them.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { fromJson, isUniqueViolation, promised, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';

/** A rollout as stored (its state's shape is the fleet-rollouts domain's: `unknown` here). */
export interface RolloutRow {
  readonly id: string;
  readonly name: string;
  readonly phase: string;
  /** Not ended (pending, running, paused). */
  readonly active: boolean;
  readonly state: unknown;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** One entry of a rollout's log. */
export interface RolloutEventRow {
  readonly seq: number;
  readonly at: number;
  readonly outcome: string;
  readonly stage?: string;
  readonly cluster?: string;
  readonly message: string;
}

/** What a commit writes. */
export interface RolloutWrite {
  readonly phase: string;
  readonly active: boolean;
  readonly state: unknown;
  readonly updatedAt: number;
}

/** The rollouts store. */
export interface RolloutsRepo {
  /**
   * Stores a new rollout at version 1 with its first log entries.
   * @throws {StoreError} KUP-STORE-011-like conflict when the id exists (KUP-STORE-014).
   */
  create(row: Omit<RolloutRow, 'version'>, events: readonly RolloutEventRow[]): Promise<RolloutRow>;
  get(id: string): Promise<RolloutRow | undefined>;
  /** Rollouts, newest first; only active ones when asked. */
  list(options?: { readonly active?: boolean }): Promise<readonly RolloutRow[]>;
  /**
   * Writes a new state if the rollout is still at `expectedVersion`, with its log entries; returns the new version.
   * @throws {StoreError} KUP-STORE-014 when another writer saved it first, KUP-STORE-015 when it does not exist.
   */
  commit(id: string, expectedVersion: number, write: RolloutWrite, events: readonly RolloutEventRow[]): Promise<number>;
  /** The rollout's log, oldest first, after `afterSeq`. */
  events(id: string, afterSeq?: number): Promise<readonly RolloutEventRow[]>;
}

interface RolloutRecord {
  id: string;
  name: string;
  phase: string;
  active: number;
  state: string;
  version: number;
  created_at: number;
  updated_at: number;
}

interface EventRecord {
  seq: number;
  at: number;
  outcome: string;
  stage: string | null;
  cluster: string | null;
  message: string;
}

/** {@link RolloutsRepo} on SQLite. */
export class SqliteRolloutsRepo implements RolloutsRepo {
  readonly #db: SqliteDatabase;
  readonly #insert: Statement<[string, string, string, number, string, number, number]>;
  readonly #get: Statement<[string], RolloutRecord>;
  readonly #list: Statement<[], RolloutRecord>;
  readonly #listActive: Statement<[], RolloutRecord>;
  readonly #update: Statement<[string, number, string, number, string, number]>;
  readonly #insertEvent: Statement<[string, number, number, string, string | null, string | null, string]>;
  readonly #events: Statement<[string, number], EventRecord>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO rollouts (id, name, phase, active, state, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)',
    );
    this.#get = db.prepare('SELECT * FROM rollouts WHERE id = ?');
    this.#list = db.prepare('SELECT * FROM rollouts ORDER BY created_at DESC, id DESC');
    this.#listActive = db.prepare('SELECT * FROM rollouts WHERE active = 1 ORDER BY created_at DESC, id DESC');
    this.#update = db.prepare(
      'UPDATE rollouts SET phase = ?, active = ?, state = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?',
    );
    this.#insertEvent = db.prepare(
      'INSERT INTO rollout_events (rollout_id, seq, at, outcome, stage, cluster, message) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#events = db.prepare('SELECT * FROM rollout_events WHERE rollout_id = ? AND seq > ? ORDER BY seq');
  }

  create(row: Omit<RolloutRow, 'version'>, events: readonly RolloutEventRow[]): Promise<RolloutRow> {
    const create = this.#db.transaction(() => {
      try {
        this.#insert.run(
          row.id,
          row.name,
          row.phase,
          row.active ? 1 : 0,
          toJson(row.state, `rollout ${row.id}`),
          row.createdAt,
          row.updatedAt,
        );
      } catch (err) {
        if (isUniqueViolation(err))
          throw new StoreError(
            StoreErrorCode.rolloutConflict,
            `a rollout with id ${row.id} exists`,
            { rollout: row.id },
            { cause: err },
          );
        throw err;
      }
      this.#append(row.id, events);
      return { ...row, version: 1 };
    });
    return promised(() => create.immediate());
  }

  get(id: string): Promise<RolloutRow | undefined> {
    return promised(() => {
      const r = this.#get.get(id);
      return r === undefined ? undefined : toRow(r);
    });
  }

  list(options: { readonly active?: boolean } = {}): Promise<readonly RolloutRow[]> {
    return promised(() => (options.active === true ? this.#listActive : this.#list).all().map(toRow));
  }

  commit(
    id: string,
    expectedVersion: number,
    write: RolloutWrite,
    events: readonly RolloutEventRow[],
  ): Promise<number> {
    const commit = this.#db.transaction(() => {
      const changed = this.#update.run(
        write.phase,
        write.active ? 1 : 0,
        toJson(write.state, `rollout ${id}`),
        write.updatedAt,
        id,
        expectedVersion,
      ).changes;
      if (changed === 0) {
        const current = this.#get.get(id);
        if (current === undefined)
          throw new StoreError(StoreErrorCode.rolloutNotFound, `rollout ${id} does not exist`, { rollout: id });
        throw new StoreError(
          StoreErrorCode.rolloutConflict,
          `rollout ${id} was saved by another writer: expected version ${expectedVersion}, it is at ${current.version}`,
          { rollout: id },
        );
      }
      this.#append(id, events);
      return expectedVersion + 1;
    });
    return promised(() => commit.immediate());
  }

  events(id: string, afterSeq = 0): Promise<readonly RolloutEventRow[]> {
    return promised(() =>
      this.#events.all(id, afterSeq).map((e) => ({
        seq: e.seq,
        at: e.at,
        outcome: e.outcome,
        ...(e.stage !== null ? { stage: e.stage } : {}),
        ...(e.cluster !== null ? { cluster: e.cluster } : {}),
        message: e.message,
      })),
    );
  }

  #append(id: string, events: readonly RolloutEventRow[]): void {
    for (const e of events)
      this.#insertEvent.run(id, e.seq, e.at, e.outcome, e.stage ?? null, e.cluster ?? null, e.message);
  }
}

function toRow(r: RolloutRecord): RolloutRow {
  return {
    id: r.id,
    name: r.name,
    phase: r.phase,
    active: r.active === 1,
    state: fromJson(r.state),
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
