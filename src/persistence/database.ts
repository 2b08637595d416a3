/**
 * kup's embedded database: one SQLite file, `<dataDir>/kup.db`, opened in WAL mode with `synchronous=FULL` (a
 * committed transaction is on disk before the commit returns, so neither SIGKILL nor a power cut loses a committed
 * step), foreign keys on, and a busy timeout so several kup processes on one data directory queue instead of
 * failing. Opening migrates the schema to the version this kup knows.
 *
 * Also the column conventions every repository shares: times are integers (milliseconds since the epoch, from the
 * caller's clock), JSON columns hold `JSON.stringify` text.
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.ts';
import { errorCode } from './sql.ts';
import type { Migration } from './migrations.ts';
import { ensurePrivateDir, ensurePrivateFile } from './private-files.ts';
import { migrate } from './migrations.ts';

/** An open SQLite database (better-sqlite3). */
export type SqliteDatabase = Database;

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** kup's data directory; created when missing. */
  readonly dataDir: string;
  /** The file name inside `dataDir`. @default 'kup.db' */
  readonly fileName?: string;
  /** How long a statement waits for another process's write lock before failing. @default 5000 */
  readonly busyTimeoutMs?: number;
  /** The migrations to bring the file to (tests open older versions). @default MIGRATIONS */
  readonly migrations?: readonly Migration[];
  /** The clock migrations record their time with. @default Date.now */
  readonly now?: () => number;
}

/** The file name of kup's database in a data directory. */
export const DATABASE_FILE = 'kup.db';

/** Where kup's database lives in a data directory. */
export function databasePath(dataDir: string, fileName: string = DATABASE_FILE): string {
  return join(resolve(dataDir), fileName);
}

/**
 * Opens (creating if needed) kup's database in `dataDir`, configures it and migrates it. `db.name` is the file's
 * absolute path; `schemaVersion(db)` tells the version it is at.
 *
 * @throws {StoreError} KUP-STORE-001 when the file cannot be opened or put in WAL mode; the errors of
 *   {@link migrate} when its schema is newer than this kup's or a migration fails.
 */
export function openDatabase(options: OpenDatabaseOptions): SqliteDatabase {
  const path = databasePath(options.dataDir, options.fileName);
  let db: Database;
  try {
    ensurePrivateDir(options.dataDir);
    ensurePrivateFile(path);
    db = new BetterSqlite3(path, { timeout: options.busyTimeoutMs ?? 5000 });
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(StoreErrorCode.open, `cannot open ${path}: ${(err as Error).message}`, { path }, { cause: err });
  }
  try {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`journal_mode is ${String(mode)}, not wal (is the file on a network filesystem?)`);
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, {
      ...(options.migrations ? { migrations: options.migrations } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    return db;
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    if (isCorruption(err)) throw corruptDatabase(path, err);
    throw new StoreError(StoreErrorCode.open, `cannot configure ${path}: ${(err as Error).message}`, { path }, { cause: err });
  }
}

/** Whether an error is SQLite's word that the file is not a database, or is damaged. */
function isCorruption(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT';
}

/** The error for a damaged database: which file, and what the operator can do (with the backups kup made). */
function corruptDatabase(path: string, err: unknown): StoreError {
  let backups: string[] = [];
  try {
    backups = readdirSync(dirname(path))
      .filter((f) => f.startsWith(`${basename(path)}.backup-`))
      .sort()
      .map((f) => join(dirname(path), f));
  } catch {
    // The directory cannot be listed: the message goes without backups.
  }
  const newest = backups.at(-1);
  const restore = newest !== undefined ? `restore kup's newest backup (cp ${newest} ${path})` : 'restore it from a backup';
  return new StoreError(
    StoreErrorCode.corrupt,
    `${path} is not a kup database or is damaged (${(err as Error).message}): ${restore}, ` +
      'or move it aside to start with an empty one (kup then knows none of its clusters and runs)',
    { path },
    { cause: err },
  );
}

/**
 * JSON text of a value for a JSON column.
 *
 * @throws {StoreError} KUP-STORE-009 when the value has no JSON form (undefined, a function, a cycle, a BigInt).
 */
export function toJson(value: unknown, what: string): string {
  // JSON.stringify is typed as returning a string, but gives undefined for undefined, functions and symbols.
  let text: unknown;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new StoreError(StoreErrorCode.notJson, `${what} cannot be stored as JSON: ${(err as Error).message}`, {}, { cause: err });
  }
  if (typeof text !== 'string') throw new StoreError(StoreErrorCode.notJson, `${what} cannot be stored as JSON: it is ${typeof value}`);
  return text;
}

/** The value of a JSON column (the engine owns its shape: `unknown` here). */
export function fromJson(text: string): unknown {
  return JSON.parse(text) as unknown;
}
