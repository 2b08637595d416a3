/**
 * The small asynchronous SQL layer kup's repositories are written against, once for both databases: SQLite
 * (better-sqlite3, embedded) and PostgreSQL (node-postgres, several kup replicas). Repositories write `?`
 * placeholders and portable SQL; what differs between the two databases lives here and in the two adapters
 * (`sqlite-sql.ts`, `postgres-sql.ts`): placeholder syntax, row locks, how a constraint violation is recognised, how
 * a transaction is begun (docs/adr/014-one-sql-layer-for-sqlite-and-postgresql.md).
 */

/** A value bound to a `?` placeholder. Times are integers (ms since the epoch); JSON is text. */
export type SqlValue = string | number | null;

/** What differs between the databases, in one place. */
export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /**
   * Appended to a `SELECT` whose rows the transaction goes on to write on the strength of what it read (a version
   * check, a lease check, the next event seq): PostgreSQL locks the rows (`FOR UPDATE`) until the transaction ends;
   * SQLite needs nothing, its write transactions (`BEGIN IMMEDIATE`) hold the database's one write lock throughout.
   */
  readonly forUpdate: string;
  /** Whether an error is a primary-key or unique violation. */
  isUniqueViolation(err: unknown): boolean;
  /** Whether an error is a foreign-key violation. */
  isForeignKeyViolation(err: unknown): boolean;
}

/** Runs statements: the database itself, or one transaction. */
export interface SqlExecutor {
  readonly dialect: SqlDialect;
  /** Every row of a query. */
  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** The first row of a query, if any. */
  get<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** An open database. */
export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `work` in one write transaction: committed when it resolves, rolled back when it rejects (the rejection is
   * passed on). Statements inside must go through `tx`, never through the database, and `tx` must not be used after.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Where the data lives: a file path, or a database URL without its password. */
  readonly location: string;
  close(): Promise<void>;
}

/** The `code` property of an error (SQLite's `SQLITE_...`, PostgreSQL's SQLSTATE), if it has one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
