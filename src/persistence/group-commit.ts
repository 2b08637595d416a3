/**
 * Group commit, with the disk flush off the event loop. Every write of the store goes through here:
 *
 * - the writes that arrive in the same turn of the event loop are committed together, in one SQLite transaction,
 *   each in a savepoint of its own: a write that fails (a version conflict, a lost lease) rolls back and rejects
 *   alone, and the others commit;
 * - the group's commit does not wait for the disk (`synchronous=NORMAL` for it, in WAL mode); the write-ahead log is then
 *   flushed with `fdatasync` on libuv's thread pool, and a write's promise resolves only once the flush that followed
 *   its commit is done. So a write reported done is on disk, as with `synchronous=FULL`, but the flush no longer stops
 *   every other run: with a hundred runs the synchronous flush (3.6 ms a commit on a quiet disk of this machine, 19 ms
 *   on a busy one) held the event loop most of the time. Writes committed while a flush is under way wait for the
 *   next one, so the flushes per second are bounded by the disk, not by the number of runs.
 *
 * A read may see a write that is committed but not yet flushed: after a power loss (not a crash of kup: the
 * operating system still holds the file) the database comes back consistent, without the writes no one was told were
 * done (docs/adr/002-persistence.md).
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import type { SqliteDatabase } from './database.ts';

interface Pending {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** A write committed and waiting for the flush that makes it durable. */
interface Committed {
  readonly settle: (flushError: unknown) => void;
}

/** The group commit of one database connection: every repository of a store shares one. */
export class GroupCommit {
  readonly #db: SqliteDatabase;
  #pending: Pending[] = [];
  #scheduled = false;
  #unflushed: Committed[] = [];
  #flushing = false;
  #closed = false;
  #wal: number | undefined;
  readonly #synchronous: number;

  /**
   * The connection must be in WAL mode. Its own `synchronous` setting (FULL for kup's store) stays for every write
   * made outside the group commit; only the groups' commits leave the flush to it.
   */
  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#synchronous = Number(db.pragma('synchronous', { simple: true }));
  }

  /**
   * Runs `work` (synchronous; a transaction it opens becomes a savepoint) in the next group; resolves with its result
   * once the group is committed and on disk, or rejects with its error (the group's other writes are unaffected), with
   * the commit's (every write of the group rejects: none is committed), or with the flush's.
   */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // setImmediate: after the I/O callbacks of this turn, so replies that arrived together commit together.
      setImmediate(() => this.#commit());
    });
  }

  /**
   * Commits the writes waiting for their group and flushes the log now, synchronously, settling every write: for a
   * store that is closing.
   */
  close(): void {
    this.#commit(false);
    const waiting = this.#unflushed;
    this.#unflushed = [];
    let error: unknown;
    try {
      const fd = waiting.length > 0 ? this.#walFd() : undefined;
      if (fd !== undefined) fdatasyncSync(fd);
    } catch (err) {
      error = err;
    }
    for (const w of waiting) w.settle(error);
    // A flush under way still uses the file: it closes it when it ends.
    this.#closed = true;
    if (!this.#flushing) this.#closeWal();
  }

  #closeWal(): void {
    if (this.#wal !== undefined) closeSync(this.#wal);
    this.#wal = undefined;
  }

  #commit(startFlush = true): void {
    this.#scheduled = false;
    const group = this.#pending;
    this.#pending = [];
    if (group.length === 0) return;
    if (!this.#db.open) {
      for (const p of group) p.reject(new Error('the database is closed'));
      return;
    }
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      // NORMAL for this commit alone: the flush comes after, off the event loop.
      this.#db.pragma('synchronous = NORMAL');
      this.#db
        .transaction(() => {
          for (const p of group) {
            try {
              // Nested: a savepoint, rolled back alone when the work throws.
              outcomes.push({ ok: true, value: this.#db.transaction(p.work)() });
            } catch (error) {
              outcomes.push({ ok: false, error });
            }
          }
        })
        .immediate();
    } catch (error) {
      for (const p of group) p.reject(error);
      return;
    } finally {
      this.#db.pragma(`synchronous = ${this.#synchronous}`);
    }
    group.forEach((p, i) => {
      const outcome = outcomes[i] ?? { ok: false, error: new Error('no outcome') };
      // A write that failed changed nothing: it need not wait for the disk.
      if (!outcome.ok) return p.reject(outcome.error);
      this.#unflushed.push({
        settle: (flushError) => (flushError === undefined ? p.resolve(outcome.value) : p.reject(flushError)),
      });
    });
    if (startFlush) this.#flush();
  }

  /** Starts a flush of the log for the writes committed so far, unless one is under way (its end starts the next). */
  #flush(): void {
    if (this.#flushing || this.#unflushed.length === 0) return;
    const batch = this.#unflushed;
    this.#unflushed = [];
    let fd: number | undefined;
    try {
      fd = this.#walFd();
    } catch (err) {
      for (const w of batch) w.settle(err);
      return;
    }
    // No log file: nothing was written to it (a group of reads and no-ops).
    if (fd === undefined) {
      for (const w of batch) w.settle(undefined);
      return;
    }
    this.#flushing = true;
    fdatasync(fd, (err) => {
      this.#flushing = false;
      for (const w of batch) w.settle(err ?? undefined);
      if (this.#closed) this.#closeWal();
      else this.#flush();
    });
  }

  /** The write-ahead log, opened once: it lives as long as the connection (a checkpoint rewinds it, never removes it). */
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
}
