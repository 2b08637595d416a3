/**
 * The SQL layer (`sql.ts`) over PostgreSQL (node-postgres, a connection pool). Placeholders are rewritten from `?`
 * to `$1, $2...` (kup's SQL has no `?` inside a string literal); a transaction takes one connection of the pool
 * for its length. 64-bit integers (`BIGINT`: every integer column, see postgres-migrations.ts) come back as
 * numbers, as SQLite's do: kup's integers are times in ms, versions and counts, far below 2^53, and one that is not
 * is refused rather than rounded.
 */
import pg from 'pg';
import type { PoolClient } from 'pg';
import type { SqlDatabase, SqlDialect, SqlExecutor, SqlValue } from './sql.ts';
import { errorCode } from './sql.ts';

/** PostgreSQL's side of {@link SqlDialect}. */
export const POSTGRES_DIALECT: SqlDialect = {
  name: 'postgres',
  forUpdate: ' FOR UPDATE',
  // SQLSTATE class 23: integrity constraint violations.
  isUniqueViolation: (err) => errorCode(err) === '23505',
  isForeignKeyViolation: (err) => errorCode(err) === '23503',
};

const INT8_OID = 20;

/** SQLSTATEs of a transaction PostgreSQL aborted for another's sake: deadlock_detected, serialization_failure. */
const RETRYABLE = new Set(['40P01', '40001']);

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`a BIGINT of ${text} is beyond what kup reads exactly (2^53)`);
  return value;
}

/** Type parsers of kup's connections: BIGINT as a number, everything else as node-postgres reads it. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID ? parseInt8 : (pg.types.getTypeParser(oid, format) as unknown)) as pg.CustomTypesConfig['getTypeParser'],
};

/** Options of {@link postgresSql}. */
export interface PostgresSqlOptions {
  /** `postgres://user:password@host:port/database`, with libpq's parameters node-postgres knows (`options`, `sslmode`). */
  readonly url: string;
  /** Connections at most. @default 10 */
  readonly maxConnections?: number;
  /** How long to wait for a connection before failing. @default 10000 */
  readonly connectTimeoutMs?: number;
}

/** A pool of connections to `url`, behind the SQL layer. Opens no connection until the first statement. */
export function postgresSql(options: PostgresSqlOptions): SqlDatabase {
  return new PostgresSql(options);
}

/** `url` without its password: what kup prints and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(an unparseable URL)';
  }
}

class PostgresSql implements SqlDatabase {
  readonly dialect = POSTGRES_DIALECT;
  readonly location: string;
  readonly #pool: pg.Pool;

  constructor(options: PostgresSqlOptions) {
    this.location = redactUrl(options.url);
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      types: TYPES,
    });
    // An idle connection the server closed (a restart, a failover) is an error event on the pool: without a
    // listener it would end the process. The pool drops the connection and the next statement opens another.
    this.#pool.on('error', () => undefined);
  }

  async all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return (await this.#pool.query(numbered(sql), [...params])).rows as Row[];
  }

  async get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return (await this.all<Row>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.#pool.query(numbered(sql), [...params])).rowCount ?? 0;
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // Two transactions that lock the same rows in opposite orders (a commit that re-activates a run locks its run,
    // then its cluster; a cluster's removal the other way) deadlock, and PostgreSQL aborts one: it is run again, as
    // its work reads everything it decides on inside the transaction.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#transactionOnce(work);
      } catch (err) {
        if (attempt >= 3 || !RETRYABLE.has(errorCode(err) ?? '')) throw err;
      }
    }
  }

  async #transactionOnce<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    const tx = new PostgresTransaction(client);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollback) {
        // The connection is gone or unusable: the server rolls the transaction back; the pool must not reuse it.
        broken = rollback instanceof Error ? rollback : new Error(String(rollback));
      }
      throw err;
    } finally {
      tx.end();
      client.release(broken);
    }
  }

  /** Runs `work` on one connection of its own, outside any transaction (migrations hold a session lock on it). */
  async session<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}

/** The session of a {@link postgresSql} database (for the migration runner), or undefined for another kind. */
export function postgresSession(db: SqlDatabase): PostgresSql['session'] | undefined {
  return db instanceof PostgresSql ? db.session.bind(db) : undefined;
}

class PostgresTransaction implements SqlExecutor {
  readonly dialect = POSTGRES_DIALECT;
  readonly #client: PoolClient;
  #open = true;

  constructor(client: PoolClient) {
    this.#client = client;
  }

  async all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    this.#check();
    return (await this.#client.query(numbered(sql), [...params])).rows as Row[];
  }

  async get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return (await this.all<Row>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    this.#check();
    return (await this.#client.query(numbered(sql), [...params])).rowCount ?? 0;
  }

  end(): void {
    this.#open = false;
  }

  #check(): void {
    if (!this.#open) throw new Error('a statement was run on a transaction that has ended');
  }
}

const numberedCache = new Map<string, string>();

/** `?` placeholders as PostgreSQL's `$1, $2...`. */
function numbered(sql: string): string {
  let text = numberedCache.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
    numberedCache.set(sql, text);
  }
  return text;
}
