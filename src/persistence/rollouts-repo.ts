/**
 * Fleet rollouts, persisted like runs: the whole state as JSON (a rollout holds tens of clusters, not thousands of
 * nodes), its phase and whether it is active as columns to list by, a version for optimistic concurrency, and its
 * log entries appended in the same transaction as the state that produced them.
 */
import { fromJson, toJson } from './database.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import type { SqlDatabase, SqlExecutor } from './sql.ts';

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

const ROLLOUT_COLUMNS = 'id, name, phase, active, state, version, created_at, updated_at';

/** {@link RolloutsRepo} on the SQL layer (SQLite or PostgreSQL). */
export class SqlRolloutsRepo implements RolloutsRepo {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async create(row: Omit<RolloutRow, 'version'>, events: readonly RolloutEventRow[]): Promise<RolloutRow> {
    const state = toJson(row.state, `rollout ${row.id}`);
    return this.#db.transaction(async (tx) => {
      try {
        await tx.run('INSERT INTO rollouts (id, name, phase, active, state, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)', [
          row.id,
          row.name,
          row.phase,
          row.active ? 1 : 0,
          state,
          row.createdAt,
          row.updatedAt,
        ]);
      } catch (err) {
        if (tx.dialect.isUniqueViolation(err)) {
          throw new StoreError(StoreErrorCode.rolloutConflict, `a rollout with id ${row.id} exists`, { rollout: row.id }, { cause: err });
        }
        throw err;
      }
      await append(tx, row.id, events);
      return { ...row, version: 1 };
    });
  }

  async get(id: string): Promise<RolloutRow | undefined> {
    const r = await this.#db.get<RolloutRecord>(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts WHERE id = ?`, [id]);
    return r === undefined ? undefined : toRow(r);
  }

  async list(options: { readonly active?: boolean } = {}): Promise<readonly RolloutRow[]> {
    const where = options.active === true ? ' WHERE active = 1' : '';
    return (await this.#db.all<RolloutRecord>(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts${where} ORDER BY created_at DESC, id DESC`)).map(toRow);
  }

  async commit(id: string, expectedVersion: number, write: RolloutWrite, events: readonly RolloutEventRow[]): Promise<number> {
    const state = toJson(write.state, `rollout ${id}`);
    return this.#db.transaction(async (tx) => {
      // A conditional UPDATE: on PostgreSQL a second writer over the same version waits for the first one's row lock,
      // then finds the version moved and changes nothing.
      const changed = await tx.run('UPDATE rollouts SET phase = ?, active = ?, state = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?', [
        write.phase,
        write.active ? 1 : 0,
        state,
        write.updatedAt,
        id,
        expectedVersion,
      ]);
      if (changed === 0) {
        const current = await tx.get<{ version: number }>('SELECT version FROM rollouts WHERE id = ?', [id]);
        if (current === undefined) throw new StoreError(StoreErrorCode.rolloutNotFound, `rollout ${id} does not exist`, { rollout: id });
        throw new StoreError(
          StoreErrorCode.rolloutConflict,
          `rollout ${id} was saved by another writer: expected version ${expectedVersion}, it is at ${current.version}`,
          { rollout: id },
        );
      }
      await append(tx, id, events);
      return expectedVersion + 1;
    });
  }

  async events(id: string, afterSeq = 0): Promise<readonly RolloutEventRow[]> {
    const rows = await this.#db.all<EventRecord>(
      'SELECT seq, at, outcome, stage, cluster, message FROM rollout_events WHERE rollout_id = ? AND seq > ? ORDER BY seq',
      [id, afterSeq],
    );
    return rows.map((e) => ({
      seq: e.seq,
      at: e.at,
      outcome: e.outcome,
      ...(e.stage !== null ? { stage: e.stage } : {}),
      ...(e.cluster !== null ? { cluster: e.cluster } : {}),
      message: e.message,
    }));
  }
}

async function append(tx: SqlExecutor, id: string, events: readonly RolloutEventRow[]): Promise<void> {
  for (const e of events) {
    await tx.run('INSERT INTO rollout_events (rollout_id, seq, at, outcome, stage, cluster, message) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      id,
      e.seq,
      e.at,
      e.outcome,
      e.stage ?? null,
      e.cluster ?? null,
      e.message,
    ]);
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
