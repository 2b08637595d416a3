/**
 * The SQL layer (`sql.ts`) over an open better-sqlite3 database. better-sqlite3 is synchronous and has one
 * connection: a transaction whose body awaits would let any other call on the same connection run inside it. So
 * every call queues behind the transaction in progress on its connection.
 *
 * Waiting for another connection's write lock cannot be left to SQLite's busy timeout any more: it waits inside the
 * call, blocking the thread, and the holder may be a connection of this same process whose transaction is waiting
 * for its next turn of the event loop (a deadlock until the timeout). So the connection's own busy timeout is 0 and
 * a busy database is waited for here, between turns of the event loop, for as long as the busy timeout says.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import type { SqlDatabase, SqlDialect, SqlExecutor, SqlValue } from './sql.ts';
import { errorCode } from './sql.ts';

/** SQLite's side of {@link SqlDialect}. */
export const SQLITE_DIALECT: SqlDialect = {
  name: 'sqlite',
  forUpdate: '',
  isUniqueViolation: (err) => {
    const code = errorCode(err);
    return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
  },
  isForeignKeyViolation: (err) => errorCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY',
};

/** Options of {@link sqliteSql}. */
export interface SqliteSqlOptions {
  /** How long a call waits for another connection's write lock before failing with SQLITE_BUSY. @default 5000 */
  readonly busyTimeoutMs?: number;
}

/** The SQL layer over `db` (opened and migrated by `openDatabase`); closing it closes `db`. */
export function sqliteSql(db: SqliteDatabase, options: SqliteSqlOptions = {}): SqlDatabase {
  return new SqliteSql(db, options.busyTimeoutMs ?? 5000);
}

/** Whether an error is SQLite's word that another connection holds the lock. */
function isBusy(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT';
}

class SqliteSql implements SqlDatabase {
  readonly dialect = SQLITE_DIALECT;
  readonly location: string;
  readonly #db: SqliteDatabase;
  readonly #statements = new Map<string, Statement>();
  /** The call in progress (a transaction holds it until it ends); the next one starts after it settles. */
  #tail: Promise<unknown> = Promise.resolve();
  readonly #busyTimeoutMs: number;

  constructor(db: SqliteDatabase, busyTimeoutMs: number) {
    this.#db = db;
    this.location = db.name;
    this.#busyTimeoutMs = busyTimeoutMs;
    db.pragma('busy_timeout = 0');
  }

  all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.#queued(() => this.#unlessBusy(() => this.#statement(sql).all(...params) as Row[]));
  }

  get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return this.#queued(() => this.#unlessBusy(() => this.#statement(sql).get(...params) as Row | undefined));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#queued(() => this.#unlessBusy(() => this.#statement(sql).run(...params).changes));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#queued(async () => {
      // IMMEDIATE takes the write lock now: a read-then-write inside cannot be overtaken by another connection.
      await this.#unlessBusy(() => this.#statement('BEGIN IMMEDIATE').run());
      const tx = new SqliteTransaction(this.dialect, (sql) => this.#statement(sql));
      try {
        const result = await work(tx);
        this.#statement('COMMIT').run();
        return result;
      } catch (err) {
        if (this.#db.inTransaction) this.#statement('ROLLBACK').run();
        throw err;
      } finally {
        tx.end();
      }
    });
  }

  close(): Promise<void> {
    return this.#queued(() => {
      if (this.#db.open) this.#db.close();
      return Promise.resolve();
    });
  }

  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs a call, again while another connection holds the lock, until the busy timeout. Polled, because SQLite
   * tells no one when a lock is released; the waits are short (1 ms doubling to 32 ms): a kup transaction holds the
   * lock for a millisecond or a few.
   */
  async #unlessBusy<T>(call: () => T): Promise<T> {
    const deadline = performance.now() + this.#busyTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 32)) {
      try {
        return call();
      } catch (err) {
        if (!isBusy(err) || performance.now() >= deadline) throw err;
      }
      await delay(wait);
    }
  }

  #queued<T>(call: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(call);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** The statements of one transaction: run directly (the transaction holds the queue), refused once it ended. */
class SqliteTransaction implements SqlExecutor {
  #open = true;
  constructor(
    readonly dialect: SqlDialect,
    private readonly statement: (sql: string) => Statement,
  ) {}

  all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.#call(() => this.statement(sql).all(...params) as Row[]);
  }

  get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return this.#call(() => this.statement(sql).get(...params) as Row | undefined);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#call(() => this.statement(sql).run(...params).changes);
  }

  end(): void {
    this.#open = false;
  }

  #call<T>(work: () => T): Promise<T> {
    if (!this.#open) return Promise.reject(new Error('a statement was run on a transaction that has ended'));
    try {
      return Promise.resolve(work());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
