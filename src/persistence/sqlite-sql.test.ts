import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { openDatabase } from './database.ts';
import type { SqlDatabase } from './sql.ts';
import { sqliteSql } from './sqlite-sql.ts';

describe('SQLite group commit', () => {
  let dir: string;
  let sql: SqlDatabase;
  let groups: number[];
  /** Another connection to the same file: what it reads is committed. */
  let other: BetterSqlite3.Database;

  const committed = () =>
    (other.prepare('SELECT name FROM scratch ORDER BY name').all() as { name: string }[]).map((r) => r.name);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kup-group-commit-'));
    const db = openDatabase({ dataDir: dir });
    db.exec('CREATE TABLE scratch (name TEXT PRIMARY KEY)');
    groups = [];
    sql = sqliteSql(db, { onGroupCommit: (writes) => groups.push(writes) });
    other = new BetterSqlite3(join(dir, 'kup.db'), { readonly: true });
  });

  afterEach(async () => {
    other.close();
    await sql.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits the writes issued together in one group, each resolved once another connection can read it', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `n${String(i).padStart(2, '0')}`);
    const writes = names.map((name, i) =>
      i % 2 === 0
        ? sql.transaction(async (tx) => {
            await tx.run('INSERT INTO scratch (name) VALUES (?)', [name]);
            return name;
          })
        : sql.run('INSERT INTO scratch (name) VALUES (?)', [name]).then(() => name),
    );
    const first = await writes[0];
    // The first write resolved: the whole group is committed, not only the writes before it.
    assert.deepEqual(committed(), names);
    assert.equal(first, 'n00');
    assert.deepEqual(await Promise.all(writes), names);
    assert.deepEqual(groups, [20]);
  });

  it('rolls a failed write back alone: the others of its group commit', async () => {
    await sql.run('INSERT INTO scratch (name) VALUES (?)', ['taken']);
    const results = await Promise.allSettled([
      sql.transaction((tx) => tx.run('INSERT INTO scratch (name) VALUES (?)', ['a'])),
      sql.transaction(async (tx) => {
        await tx.run('INSERT INTO scratch (name) VALUES (?)', ['b']);
        throw new Error('the caller changed its mind');
      }),
      sql.run('INSERT INTO scratch (name) VALUES (?)', ['taken']),
      sql.run('INSERT INTO scratch (name) VALUES (?)', ['c']),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    assert.match(String((results[1] as PromiseRejectedResult).reason), /the caller changed its mind/);
    assert.equal(
      (results[2] as PromiseRejectedResult & { reason: { code: string } }).reason.code,
      'SQLITE_CONSTRAINT_PRIMARYKEY',
    );
    assert.deepEqual(committed(), ['a', 'c', 'taken']);
    // Only the writes that succeeded count in their group.
    assert.deepEqual(groups, [1, 2]);
  });

  it('lets a read see the writes queued before it, and opens a new group for a write issued after a commit', async () => {
    const write = sql.run('INSERT INTO scratch (name) VALUES (?)', ['x']);
    const read = sql.all<{ name: string }>('SELECT name FROM scratch');
    assert.deepEqual(await read, [{ name: 'x' }]);
    await write;
    await sql.run('INSERT INTO scratch (name) VALUES (?)', ['y']);
    assert.deepEqual(groups, [1, 1]);
    assert.deepEqual(committed(), ['x', 'y']);
  });

  it('commits and flushes the writes still queued when it closes', async () => {
    const write = sql.run('INSERT INTO scratch (name) VALUES (?)', ['last']);
    const closing = sql.close();
    assert.equal(await write, 1);
    await closing;
    assert.deepEqual(committed(), ['last']);
    await assert.rejects(sql.run('INSERT INTO scratch (name) VALUES (?)', ['late']));
  });
});
