/**
 * The SQL layer (`sql.ts`) over an open better-sqlite3 database. better-sqlite3 is synchronous and has one
 * connection: a transaction whose body awaits would let any other call on the same connection run inside it. So
 * every call queues behind the transaction in progress on its connection.
 *
 * Waiting for another connection's write lock cannot be left to SQLite's busy timeout any more: it waits inside the
 * call, blocking the thread, and the holder may be a connection of this same process whose transaction is waiting
 * for its next turn of the event loop (a deadlock until the timeout). So the connection's own busy timeout is 0 and
 * a busy database is waited for here, between turns of the event loop, for as long as the busy timeout says.
 *
 * Writes commit in groups, and the disk flush is done off the event loop (group commit):
 * - a write (a transaction, or a statement run on its own) that finds no group open opens one (`BEGIN IMMEDIATE`),
 *   and the writes queued behind it within the same turn of the event loop join it, each in a savepoint of its own:
 *   one that fails rolls back alone and rejects alone, the others commit. The group commits once the writes queued
 *   when it opened have run, so a group is bounded by what arrived together, and the commits per second no longer grow
 *   with the runs that report at once;
 * - the commit does not wait for the disk (`synchronous=NORMAL`, WAL): the log is then flushed with `fdatasync` on
 *   libuv's thread pool, and a write resolves only once the flush after its commit is done. So a write reported done
 *   is on disk as with `synchronous=FULL`, but a hundred runs' commits no longer hold the event loop behind the disk
 *   (a fleet of 30 runs spent a fifth of the service's time in synchronous commits). Writes committed while a flush is
 *   under way wait for the next one: the flushes per second are bounded by the disk, not by the writers.
 * A read on the connection sees the writes of the group before they are durable (as any read on this connection saw
 * a commit before its flush with the log's own sync): after a power loss the database comes back consistent, without
 * the writes no caller was told were done (docs/adr/002-persistence.md).
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
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
  /** Told after each group commit with how many writes it committed (the failed ones rolled back apart). */
  readonly onGroupCommit?: (writes: number) => void;
}

/** The SQL layer over `db` (opened and migrated by `openDatabase`, in WAL mode); closing it closes `db`. */
export function sqliteSql(db: SqliteDatabase, options: SqliteSqlOptions = {}): SqlDatabase {
  return new SqliteSql(db, options);
}

/** A write of the open group: settled once the group is committed and flushed, or rejected with its failure. */
interface GroupWrite {
  readonly settle: (failure: Error | undefined) => void;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(`the database failed: ${JSON.stringify(err)}`);
}

/** The writes of the open group so far (each released from its savepoint, waiting for the group's commit). */
interface Group {
  readonly writes: GroupWrite[];
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
  readonly #onGroupCommit: ((writes: number) => void) | undefined;
  /** The group open on the connection (its outer transaction), if any. */
  #group: Group | undefined;
  /** Writes committed and waiting for the flush that makes them durable. */
  #unflushed: GroupWrite[] = [];
  /** The flush under way, if any; its end starts the next one. */
  #flushing: Promise<void> | undefined;
  /** The write-ahead log, opened at the first flush: it lives as long as the connection (a checkpoint rewinds it). */
  #wal: number | undefined;

  constructor(db: SqliteDatabase, options: SqliteSqlOptions) {
    this.#db = db;
    this.location = db.name;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#onGroupCommit = options.onGroupCommit;
    db.pragma('busy_timeout = 0');
    // Durability is this class's flush of the log after each group (see the module comment), not each commit's.
    db.pragma('synchronous = NORMAL');
  }

  all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.#queued(() => this.#unlessBusy(() => this.#statement(sql).all(...params) as Row[]));
  }

  get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return this.#queued(() => this.#unlessBusy(() => this.#statement(sql).get(...params) as Row | undefined));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#write(() => Promise.resolve(this.#statement(sql).run(...params).changes));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#write(async () => {
      const tx = new SqliteTransaction(this.dialect, (sql) => this.#statement(sql));
      try {
        return await work(tx);
      } finally {
        tx.end();
      }
    });
  }

  close(): Promise<void> {
    return this.#queued(async () => {
      if (this.#group) this.#commitGroup();
      await this.#flushing;
      const waiting = this.#unflushed;
      this.#unflushed = [];
      let failure: Error | undefined;
      try {
        const wal = waiting.length > 0 ? this.#walFd() : undefined;
        if (wal !== undefined) fdatasyncSync(wal);
      } catch (err) {
        failure = asError(err);
      }
      for (const w of waiting) w.settle(failure);
      if (this.#wal !== undefined) closeSync(this.#wal);
      this.#wal = undefined;
      if (this.#db.open) this.#db.close();
    });
  }

  /**
   * Runs a write in the open group (opening one when none is), in a savepoint of its own; resolves with its result
   * once the group is committed and flushed, or rejects with its own error (rolled back alone) or the group's.
   */
  #write<T>(work: () => Promise<T>): Promise<T> {
    let settled!: Promise<T>;
    const ran = this.#queued(async () => {
      const group = await this.#openGroup();
      this.#statement('SAVEPOINT kup_write').run();
      let result: T;
      try {
        result = await work();
      } catch (err) {
        if (this.#db.inTransaction) {
          // The failed write leaves nothing behind; the group's other writes stay.
          this.#statement('ROLLBACK TO kup_write').run();
          this.#statement('RELEASE kup_write').run();
        } else {
          // SQLite rolled the whole transaction back (a full disk, an I/O error): the group's writes are lost too.
          this.#group = undefined;
          for (const w of group.writes) w.settle(asError(err));
        }
        throw err;
      }
      this.#statement('RELEASE kup_write').run();
      settled = new Promise<T>((resolve, reject) => {
        group.writes.push({ settle: (failure) => (failure === undefined ? resolve(result) : reject(failure)) });
      });
    });
    return ran.then(() => settled);
  }

  /**
   * The open group, or a new one: `BEGIN IMMEDIATE` takes the write lock now (a read-then-write inside cannot be
   * overtaken by another connection), and the group's commit is queued at the next turn of the event loop, behind the
   * writes that arrived until then.
   */
  async #openGroup(): Promise<Group> {
    if (this.#group) return this.#group;
    await this.#unlessBusy(() => this.#statement('BEGIN IMMEDIATE').run());
    const group: Group = { writes: [] };
    this.#group = group;
    setImmediate(() => {
      this.#queued(() => {
        if (this.#group === group) this.#commitGroup();
        return Promise.resolve();
      }).catch(() => undefined);
    });
    return group;
  }

  /** Commits the open group (its writes then wait for the flush), or rejects them all when the commit fails. */
  #commitGroup(): void {
    const group = this.#group;
    if (!group) return;
    this.#group = undefined;
    try {
      this.#statement('COMMIT').run();
    } catch (err) {
      if (this.#db.inTransaction) this.#statement('ROLLBACK').run();
      for (const w of group.writes) w.settle(asError(err));
      return;
    }
    this.#onGroupCommit?.(group.writes.length);
    this.#unflushed.push(...group.writes);
    this.#flush();
  }

  /** Flushes the log for the writes committed so far, unless a flush is under way (its end starts the next). */
  #flush(): void {
    if (this.#flushing || this.#unflushed.length === 0) return;
    const batch = this.#unflushed;
    this.#unflushed = [];
    let wal: number | undefined;
    try {
      wal = this.#walFd();
    } catch (err) {
      for (const w of batch) w.settle(asError(err));
      return;
    }
    // No log file: nothing was written to one.
    if (wal === undefined) {
      for (const w of batch) w.settle(undefined);
      return;
    }
    const fd = wal;
    this.#flushing = new Promise<void>((resolve) => {
      fdatasync(fd, (err) => {
        this.#flushing = undefined;
        for (const w of batch) w.settle(err ?? undefined);
        resolve();
        this.#flush();
      });
    });
  }

  #walFd(): number | undefined {
    if (this.#wal !== undefined) return this.#wal;
    try {
      this.#wal = openSync(`${this.#db.name}-wal`, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return this.#wal;
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
